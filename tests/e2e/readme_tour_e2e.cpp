// End-to-end: the curl tour of README.md runs as written. The shell blocks that follow a
// `<!-- readme-tour …` comment are run in order by `bash` with `set -euo pipefail` against a shop
// made like `make run`'s (scripts/run.sh): a fresh database seeded with the Makefile's SEED_ARGS,
// `emporium serve` and `emporium worker`, a webhook secret in .local/dev/webhook_secret and e-mails
// in .local/mail, under a scratch directory that stands in for the checkout. The tour checks its
// own steps (curl --fail-with-body, jq -e); the test also checks what they left behind.
#include "e2e/e2e_fixture.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <vector>

namespace emporium::test {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMarker = "<!-- readme-tour";
constexpr std::string_view kReadmeServer = "http://127.0.0.1:8080";

// The shell blocks of `markdown` that follow a kMarker line (the next fenced block after it),
// joined in order.
std::string tour_blocks(const std::string& markdown, int* blocks) {
    std::istringstream in(markdown);
    std::string script;
    bool armed = false;
    bool inside = false;
    *blocks = 0;
    for (std::string line; std::getline(in, line);) {
        if (inside) {
            if (line.starts_with("```")) {
                inside = false;
            } else {
                script += line + "\n";
            }
        } else if (line.starts_with(kMarker)) {
            armed = true;
        } else if (armed && line.starts_with("```")) {
            armed = false;
            inside = true;
            ++*blocks;
        }
    }
    return script;
}

// The words of `SEED_ARGS ?= …` in the Makefile: the demo shop of `make run`.
std::vector<std::string> make_run_seed_args() {
    std::istringstream in(slurp(fs::path(source_dir()) / "Makefile"));
    for (std::string line; std::getline(in, line);) {
        if (!line.starts_with("SEED_ARGS")) continue;
        std::istringstream words(line.substr(line.find("?=") + 2));
        std::vector<std::string> args;
        for (std::string w; words >> w;) args.push_back(w);
        return args;
    }
    return {};
}

// Runs `command` through /bin/sh; returns its exit status and everything it wrote (stderr too).
std::pair<int, std::string> run_shell(const std::string& command) {
    std::string out;
    FILE* p = ::popen((command + " 2>&1").c_str(), "r");
    if (p == nullptr) return {-1, "popen failed"};
    std::array<char, 4096> buf{};
    while (auto n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
    const int status = ::pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
}

class ReadmeTourE2E : public ::testing::Test, protected E2EFixture {
protected:
    ReadmeTourE2E() : E2EFixture("readme") {}

    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("emporium-readme-tour-" + unique_suffix());
        fs::create_directories(dir_ / ".local" / "dev");
        std::ofstream(dir_ / ".local" / "dev" / "webhook_secret") << webhook_secret_;
    }
    void TearDown() override {
        worker_.reset();
        server_.reset();
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    // What scripts/run.sh sets, for this test's database and Redis keys.
    Env shop_env() const {
        return env(
            {{"WEBHOOK_SECRET", webhook_secret_}, {"MAIL_SPOOL_DIR", (dir_ / ".local" / "mail").string()}});
    }

    fs::path dir_;
    std::string webhook_secret_ = "whsec_readme_" + unique_suffix();
    std::unique_ptr<ServerProcess> server_;
    std::unique_ptr<Process> worker_;
};

TEST_F(ReadmeTourE2E, TheCurlTourRunsAsWritten) {
    int blocks = 0;
    std::string tour = tour_blocks(slurp(fs::path(source_dir()) / "README.md"), &blocks);
    ASSERT_GE(blocks, 1) << "no shell block after a " << kMarker << " line in README.md";
    ASSERT_NE(tour.find(kReadmeServer), std::string::npos) << "the tour does not talk to `make run`'s server";

    auto seed = make_run_seed_args();
    ASSERT_FALSE(seed.empty()) << "no SEED_ARGS in the Makefile";
    seed.insert(seed.begin(), {"seed", "--if-empty"});
    ASSERT_EQ(run_emporium(seed, shop_env(), std::chrono::seconds(120)), 0) << "emporium seed";
    // As scripts/run.sh: the demo shop's administrator, its password in .local/dev/admin_password.
    const std::string admin_password = "readme-admin-" + unique_suffix();
    Env admin_env = shop_env();
    admin_env["EMPORIUM_ADMIN_PASSWORD"] = admin_password;
    ASSERT_EQ(run_emporium({"create-admin", "--email", "admin@example.com", "--name", "Admin"}, admin_env), 0);
    std::ofstream(dir_ / ".local" / "dev" / "admin_password") << admin_password;
    server_ = std::make_unique<ServerProcess>(shop_env());
    worker_ = start_emporium("worker", shop_env());

    // The tour's server is `make run`'s, on port 8080; this one listens on a free port.
    const std::string here = "http://127.0.0.1:" + std::to_string(server_->port());
    for (auto at = tour.find(kReadmeServer); at != std::string::npos; at = tour.find(kReadmeServer, at)) {
        tour.replace(at, kReadmeServer.size(), here);
        at += here.size();
    }
    const auto script = dir_ / "tour.sh";
    std::ofstream(script) << "set -euo pipefail -x\ncd '" << dir_.string() << "'\n" << tour;

    const auto started = std::chrono::steady_clock::now();
    const auto [status, output] =
        run_shell("env -u WEBHOOK_SECRET timeout 180 bash '" + script.string() + "'");
    const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - started;
    ASSERT_EQ(status, 0) << "the tour failed (bash -x trace and output):\n" << output;
    std::cout << "the tour took " << seconds.count() << " s; its output:\n" << output << std::flush;

    // What the steps left behind: the receipt, the confirmation e-mail, the webhook delivery, the paid
    // order.
    EXPECT_TRUE(slurp(dir_ / "receipt.pdf").starts_with("%PDF-"));
    std::size_t mails = 0;
    for (const auto& e : fs::directory_iterator(dir_ / ".local" / "mail")) {
        if (e.path().extension() == ".eml") ++mails;
    }
    EXPECT_EQ(mails, 1U);
    EXPECT_EQ(sql("SELECT count(*) FROM webhook_events WHERE event_type = 'payment_intent.succeeded' AND "
                  "payment_id IS NOT NULL"),
              1);
    EXPECT_EQ(sql("SELECT count(*) FROM orders o JOIN users u ON u.id = o.user_id WHERE u.email = "
                  "'me@example.com' AND o.status = 'paid'"),
              1);
}

}  // namespace
}  // namespace emporium::test
