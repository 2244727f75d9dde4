// The browser tests (docs/testing.md, "Browser tests"): Debian's Chromium driven by playwright-core
// (tests/browser/*.mjs) against a real `emporium serve`, `worker` and `scheduler` on this test's own
// database and Redis keys, with a seeded shop, an administrator and one dead-lettered job (a capture
// that keeps failing) for the console to retry. Each scenario file runs as one test; its output is printed when it fails, and
// its screenshots and page timings are kept in <build>/browser-artifacts/.
#include "e2e/e2e_fixture.hpp"
#include "support/test_env.hpp"

#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <sys/wait.h>

namespace emporium::test {
namespace {

namespace bhttp = boost::beast::http;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kAdminEmail = "console-admin@example.com";
const std::string kAdminPassword = "console admin password";

std::string quoted(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

class BrowserE2E : public ::testing::Test, protected E2EFixture {
protected:
    BrowserE2E() : E2EFixture("browser") {}

    void SetUp() override {
        // A capture gives up after two quick attempts: the dead job the console retries.
        const Env extra{{"RATE_LIMIT_ENABLED", "false"}, {"JOB_RETRY_POLICIES", "payment.capture=50/100/2/5000"}};
        ASSERT_EQ(run_emporium({"seed", "--products", "300", "--users", "30", "--orders", "600", "--seed", "7"},
                               env(extra), 120s),
                  0)
            << "emporium seed";
        Env admin_env = env(extra);
        admin_env["EMPORIUM_ADMIN_PASSWORD"] = kAdminPassword;
        ASSERT_EQ(run_emporium({"create-admin", "--email", kAdminEmail, "--name", "Console Admin"}, admin_env), 0);
        ASSERT_EQ(run_emporium({"recommend", "rebuild"}, env(extra), 60s), 0);
        server_ = std::make_unique<ServerProcess>(env(extra));
        worker_ = start_emporium("worker", env(extra));
        scheduler_ = start_emporium("scheduler", env(extra));

        // The sandbox fails tok_flaky_100's capture 100 times: it dies after its two attempts.
        const auto product = create_product(server_->port(), admin_,
                                            {{"sku", "dead-letter"}, {"name", "Dead Letter"}, {"price_cents", 100}, {"stock", 5}});
        const auto buyer = customer("dead-letter@example.com").second;
        auto placed = authorized_call(server_->port(), bhttp::verb::post, "/api/v1/orders", buyer, order_body(product, 1),
                                      {{"Idempotency-Key", "dead-letter"}});
        ASSERT_EQ(placed.result_int(), 201U) << placed.body();
        auto paid = authorized_call(server_->port(), bhttp::verb::post,
                                    "/api/v1/orders/" + std::to_string(json_object(placed).at("id").as_int64()) + "/pay",
                                    buyer, R"({"payment_method":"tok_flaky_100"})", {{"Idempotency-Key", "dead-pay"}});
        ASSERT_EQ(paid.result_int(), 202U) << paid.body();
        ASSERT_TRUE(eventually(
            [&] {
                auto dead = authorized_call(server_->port(), bhttp::verb::get, "/api/v1/admin/jobs/dead", admin_);
                return dead.result_int() == 200U && !json_object(dead).at("items").as_array().empty();
            },
            30s))
            << "no dead job to retry; jobs: "
            << authorized_call(server_->port(), bhttp::verb::get, "/api/v1/admin/jobs", admin_).body();
    }

    // Runs `node tests/browser/<file>` against the server; its exit status (0: every scenario passed).
    int scenario_file(const std::string& file) {
        const fs::path artifacts = fs::current_path() / "browser-artifacts";
        fs::create_directories(artifacts);
        const auto log = artifacts / (file + ".log");
        const std::string command =
            "env EMPORIUM_URL=" + quoted("http://127.0.0.1:" + std::to_string(server_->port())) +
            " ADMIN_EMAIL=" + quoted(kAdminEmail) + " ADMIN_PASSWORD=" + quoted(kAdminPassword) +
            " BROWSER_ARTIFACTS=" + quoted(artifacts.string()) + " node " +
            quoted(source_dir() + "/tests/browser/" + file) + " > " + quoted(log.string()) + " 2>&1";
        const int status = std::system(command.c_str());
        const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (code != 0) ADD_FAILURE() << file << " exited with " << code << ":\n" << slurp(log);
        return code;
    }

    std::unique_ptr<ServerProcess> server_;
    std::unique_ptr<Process> worker_;
    std::unique_ptr<Process> scheduler_;
};

TEST_F(BrowserE2E, PagesLoadUnderTheirPolicy) { EXPECT_EQ(scenario_file("smoke.mjs"), 0); }

TEST_F(BrowserE2E, AGuestFindsBuysAndGetsTheReceipt) { EXPECT_EQ(scenario_file("store.mjs"), 0); }

TEST_F(BrowserE2E, AnAdminEditsFulfilsRefundsAndRetries) { EXPECT_EQ(scenario_file("admin.mjs"), 0); }

}  // namespace
}  // namespace emporium::test
