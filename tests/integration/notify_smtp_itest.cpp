// Real SMTP delivery through libcurl to a private aiosmtpd server (Debian's python3-aiosmtpd,
// started by the test on a free port, writing to a Maildir), and the transient/permanent
// classification of failures: a refused connection, an oversized message (552), STARTTLS required
// but not offered.
#include "notify/mailer.hpp"
#include "notify/mime.hpp"
#include "notify/order_email.hpp"
#include "notify/receipt_pdf.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace emporium::notify {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The system interpreter: a `python3` earlier on PATH (pyenv) may lack the aiosmtpd module.
constexpr const char* kPython = "/usr/bin/python3";

sockaddr_in loopback(unsigned short port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

// A port nobody listens on right now (bind to port 0, read it back, close).
unsigned short free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
    sockaddr_in address = loopback(0);
    socklen_t length = sizeof(address);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        const int error = errno;
        ::close(fd);
        throw std::system_error(error, std::generic_category(), "bind/getsockname");
    }
    ::close(fd);
    return ntohs(address.sin_port);
}

bool accepts_connections(unsigned short port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    const sockaddr_in address = loopback(port);
    const bool connected = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
    ::close(fd);
    return connected;
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// `python3 -m aiosmtpd` with the Mailbox handler, on a free loopback port, stopped (by pid) when
// the object goes away. Its output goes to <dir>/smtpd.log.
class SmtpServer {
public:
    explicit SmtpServer(fs::path dir, const std::vector<std::string>& extra_args = {})
        : dir_(std::move(dir)), port_(free_port()) {
        fs::create_directories(dir_);
        std::vector<std::string> args{
            kPython, "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:" + std::to_string(port_)};
        args.insert(args.end(), extra_args.begin(), extra_args.end());
        args.insert(args.end(), {"-c", "aiosmtpd.handlers.Mailbox", maildir().string()});
        std::vector<char*> argv;
        argv.reserve(args.size() + 1);
        for (auto& arg : args) argv.push_back(arg.data());
        argv.push_back(nullptr);

        const std::string log = log_path().string();
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(
            &actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
        const int rc = ::posix_spawn(&pid_, kPython, &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0) throw std::system_error(rc, std::generic_category(), "posix_spawn(aiosmtpd)");

        const auto deadline = Clock::now() + 20s;
        while (!accepts_connections(port_)) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                throw std::runtime_error("aiosmtpd exited during startup: " + read_file(log_path()));
            }
            if (Clock::now() > deadline) {
                stop();
                throw std::runtime_error("aiosmtpd did not start: " + read_file(log_path()));
            }
            std::this_thread::sleep_for(20ms);  // test setup: poll the port until it accepts
        }
    }
    ~SmtpServer() { stop(); }
    SmtpServer(const SmtpServer&) = delete;
    SmtpServer& operator=(const SmtpServer&) = delete;

    unsigned short port() const { return port_; }
    std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
    fs::path maildir() const { return dir_ / "Maildir"; }
    fs::path log_path() const { return dir_ / "smtpd.log"; }

    // The delivered messages (Maildir/new), oldest name first.
    std::vector<std::string> delivered() const {
        std::vector<fs::path> files;
        if (fs::exists(maildir() / "new")) {
            for (const auto& entry : fs::directory_iterator(maildir() / "new")) files.push_back(entry.path());
        }
        std::sort(files.begin(), files.end());
        std::vector<std::string> messages;
        messages.reserve(files.size());
        for (const auto& file : files) messages.push_back(read_file(file));
        return messages;
    }

private:
    // SIGTERM, SIGKILL after 5 s; always reaps the child.
    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        const auto deadline = Clock::now() + 5s;
        int status = 0;
        while (::waitpid(pid_, &status, WNOHANG) == 0) {
            if (Clock::now() > deadline) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, &status, 0);
                break;
            }
            std::this_thread::sleep_for(10ms);
        }
        pid_ = -1;
    }

    fs::path dir_;
    unsigned short port_;
    pid_t pid_ = -1;
};

class TempDir {
public:
    TempDir() : path_(fs::temp_directory_path() / ("emporium-notify-itest-" + test::unique_suffix())) {
        fs::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// Maildir files use LF line endings; the header block of `message` up to the first blank line.
std::string header_value(const std::string& message, const std::string& name) {
    const std::string head = message.substr(0, message.find("\n\n"));
    std::istringstream lines(head);
    std::string line;
    while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.rfind(name + ": ", 0) == 0) return line.substr(name.size() + 2);
    }
    return {};
}

std::string lf(std::string text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
        out.push_back(text[i]);
    }
    return out;
}

// The decoded body of the part whose Content-Type starts with `type`.
std::string part_body(const std::string& message, const std::string& boundary, const std::string& type) {
    const std::string text = lf(message);
    const std::string delimiter = "\n--" + boundary;
    std::size_t pos = text.find(delimiter);
    while (pos != std::string::npos) {
        const std::size_t start = pos + delimiter.size() + 1;
        const std::size_t next = text.find(delimiter, start);
        const std::string part =
            text.substr(start, next == std::string::npos ? std::string::npos : next - start);
        const std::size_t blank = part.find("\n\n");
        if (blank != std::string::npos && part.find("Content-Type: " + type) < blank) {
            return lf(quoted_printable_decode(part.substr(blank + 2)));
        }
        pos = next;
    }
    return {};
}

ReceiptData sample_order() {
    ReceiptData order;
    order.shop_name = "Emporium Test Shop";
    order.order_id = 42;
    order.order_number = order_number(42);
    order.date = std::chrono::sys_days{std::chrono::year{2024} / std::chrono::March / 5} + 14h + 3min;
    order.customer_email = "alice@example.com";
    order.lines = {{"Espresso Beans 1kg", 2, 1999, 3998}, {"Café Crème <Filter>", 1, 1952, 1952}};
    order.total_cents = 5950;
    order.tax_label = "VAT";
    order.tax_rate_bps = 1900;
    return order;
}

TEST(NotifySmtpMailer, DeliversBothPartsToARealServer) {
    const TempDir dir;
    const SmtpServer server(dir.path() / "smtpd");
    MailSettings settings;
    settings.smtp_url = server.url();
    settings.starttls = MailSettings::Tls::kOff;
    settings.timeout = 5s;
    const auto mailer = make_mailer(settings);
    EXPECT_EQ(mailer->describe(), "smtp " + server.url() + " starttls=off auth=no");

    EmailMessage message =
        order_confirmation_email(sample_order(), "shop@emporium.test", "https://shop.example");
    // A line that is only a dot would end the SMTP DATA phase if it were sent as is.
    message.text += ".\n..\n. leading dot\n" + std::string(300, 'x') + "\n";
    const auto sent = mailer->send(message, "order-42-confirmation");
    ASSERT_TRUE(sent) << sent.error().message << "\n" << read_file(server.log_path());

    const auto delivered = server.delivered();
    ASSERT_EQ(delivered.size(), 1U) << read_file(server.log_path());
    const std::string& received = delivered[0];
    EXPECT_EQ(header_value(received, "From"), "shop@emporium.test");
    EXPECT_EQ(header_value(received, "To"), "alice@example.com");
    EXPECT_EQ(header_value(received, "Subject"), "Your order EMP-000042 at Emporium Test Shop is confirmed");
    EXPECT_EQ(header_value(received, "Message-ID"), "<order-42-confirmation@emporium.test>");
    EXPECT_EQ(header_value(received, "Date"), "Tue, 05 Mar 2024 14:03:00 +0000");
    EXPECT_EQ(header_value(received, "X-MailFrom"), "shop@emporium.test");
    EXPECT_EQ(header_value(received, "X-RcptTo"), "alice@example.com");

    const std::string content_type = header_value(received, "Content-Type");
    ASSERT_EQ(content_type.rfind("multipart/alternative; boundary=\"", 0), 0U) << content_type;
    const std::string boundary =
        content_type.substr(content_type.find('"') + 1, content_type.rfind('"') - content_type.find('"') - 1);
    EXPECT_EQ(part_body(received, boundary, "text/plain; charset=utf-8"), message.text);
    const std::string html = part_body(received, boundary, "text/html; charset=utf-8");
    EXPECT_EQ(html, message.html);
    EXPECT_NE(html.find("Café Crème &lt;Filter&gt;"), std::string::npos);
}

TEST(NotifySmtpMailer, RefusedConnectionIsTransientAndFast) {
    MailSettings settings;
    settings.smtp_url = "smtp://127.0.0.1:" + std::to_string(free_port());
    settings.starttls = MailSettings::Tls::kOff;
    settings.timeout = 5s;
    const auto start = Clock::now();
    const auto result = make_mailer(settings)->send(
        order_confirmation_email(sample_order(), "shop@emporium.test", ""), "order-42-confirmation");
    const auto elapsed = Clock::now() - start;
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, core::Errc::kUnavailable) << result.error().message;
    EXPECT_TRUE(is_transient(result.error()));
    EXPECT_NE(result.error().message.find("order-42-confirmation"), std::string::npos)
        << result.error().message;
    EXPECT_NE(result.error().message.find("onnect"), std::string::npos) << result.error().message;
    EXPECT_LT(elapsed, 2s);
}

TEST(NotifySmtpMailer, RejectedMessageIsPermanentWithTheReplyCode) {
    const TempDir dir;
    const SmtpServer server(dir.path() / "smtpd", {"-s", "512"});  // 552 for anything bigger
    MailSettings settings;
    settings.smtp_url = server.url();
    settings.starttls = MailSettings::Tls::kOff;
    settings.timeout = 5s;
    const auto result = make_mailer(settings)->send(
        order_confirmation_email(sample_order(), "shop@emporium.test", ""), "order-42-confirmation");
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, core::Errc::kInternal) << result.error().message;
    EXPECT_FALSE(is_transient(result.error()));
    EXPECT_NE(result.error().message.find("552"), std::string::npos) << result.error().message;
    EXPECT_TRUE(server.delivered().empty());
}

TEST(NotifySmtpMailer, RequiredStartTlsThatIsNotOfferedIsPermanent) {
    const TempDir dir;
    const SmtpServer server(dir.path() / "smtpd");
    MailSettings settings;
    settings.smtp_url = server.url();
    settings.starttls = MailSettings::Tls::kRequired;
    settings.timeout = 5s;
    const auto result = make_mailer(settings)->send(
        order_confirmation_email(sample_order(), "shop@emporium.test", ""), "order-42-confirmation");
    ASSERT_FALSE(result);
    EXPECT_FALSE(is_transient(result.error())) << result.error().message;
    EXPECT_TRUE(server.delivered().empty());
}

}  // namespace
}  // namespace emporium::notify
