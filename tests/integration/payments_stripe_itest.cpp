// StripeProvider against a fake Stripe-like gateway (tests/support/fake_gateway.py, started per
// test on a free port): the request it sends (form fields, Authorization, Idempotency-Key), the
// classification of answers, and every injected fault — a 5xx, 429 or 409, a dropped or reset
// connection, malformed JSON, a slow answer past the client timeout, and a charge whose answer
// was lost — followed by a retry with the same idempotency key that gets the one stored charge.
#include "payments/stripe_provider.hpp"
#include "support/run_coro.hpp"
#include "support/test_env.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <memory>
#include <netinet/in.h>
#include <optional>
#include <poll.h>
#include <spawn.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace emporium::payments {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Kind = ChargeOutcome::Kind;

// The system interpreter: the fake gateway needs only the standard library.
constexpr const char* kPython = "/usr/bin/python3";
constexpr const char* kSecretKey = "sk_test_x";
constexpr int kSlowSeconds = 3;  // the gateway's delay for the "timeout" fault

// ---- the fake gateway process ------------------------------------------------------------------

// `fake_gateway.py --port 0`, stopped (by pid) when the object goes away. Its stderr is the test's.
class FakeGateway {
public:
    FakeGateway() {
        std::array<int, 2> fds{};
        if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
            throw std::system_error(errno, std::generic_category(), "pipe2");
        }
        stdout_fd_ = fds[0];
        std::vector<std::string> args{kPython,
                                      test::source_dir() + "/tests/support/fake_gateway.py",
                                      "--port",
                                      "0",
                                      "--secret-key",
                                      kSecretKey,
                                      "--slow-seconds",
                                      std::to_string(kSlowSeconds)};
        std::vector<char*> argv;
        argv.reserve(args.size() + 1);
        for (auto& arg : args) argv.push_back(arg.data());
        argv.push_back(nullptr);

        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
        const int rc = ::posix_spawn(&pid_, kPython, &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        ::close(fds[1]);
        if (rc != 0) {
            pid_ = -1;
            throw std::system_error(rc, std::generic_category(), "posix_spawn(fake_gateway.py)");
        }
        const std::string prefix = "fake gateway listening on ";
        const std::string line = read_line(20s);
        if (line.rfind(prefix, 0) != 0) {
            stop();
            throw std::runtime_error("fake gateway did not start: '" + line + "'");
        }
        port_ = static_cast<unsigned short>(std::stoi(line.substr(prefix.size())));
    }
    ~FakeGateway() {
        stop();
        if (stdout_fd_ >= 0) ::close(stdout_fd_);
    }
    FakeGateway(const FakeGateway&) = delete;
    FakeGateway& operator=(const FakeGateway&) = delete;

    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

private:
    std::string read_line(std::chrono::milliseconds timeout) {
        const auto deadline = Clock::now() + timeout;
        std::string line;
        while (line.find('\n') == std::string::npos) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) return line;
            pollfd readable{stdout_fd_, POLLIN, 0};
            if (::poll(&readable, 1, static_cast<int>(left.count())) <= 0) continue;
            std::array<char, 256> buffer{};
            const auto n = ::read(stdout_fd_, buffer.data(), buffer.size());
            if (n <= 0) return line;  // exited
            line.append(buffer.data(), static_cast<std::size_t>(n));
        }
        return line.substr(0, line.find('\n'));
    }

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

    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    unsigned short port_ = 0;
};

// A port nobody listens on right now (bind to port 0, read it back, close).
unsigned short free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = 0;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
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

// ---- a small HTTP client for the /_control endpoints ---------------------------------------------

struct CurlEasyDeleter {
    void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct CurlListDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

std::size_t append_to_string(char* data, std::size_t size, std::size_t count, void* user_data) {
    static_cast<std::string*>(user_data)->append(data, size * count);
    return size * count;
}

template <typename T>
void set_option(CURL* handle, CURLoption option, T value) {
    if (const CURLcode code = curl_easy_setopt(handle, option, value); code != CURLE_OK) {
        throw std::runtime_error(std::string("curl_easy_setopt: ") + curl_easy_strerror(code));
    }
}

// GET `url`, or POST `body` as JSON when `post` is set; returns the body of a 200 answer as JSON.
json::value control(const std::string& url, bool post, const std::string& body = "{}") {
    static const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (init != CURLE_OK) throw std::runtime_error("curl_global_init failed");
    const std::unique_ptr<CURL, CurlEasyDeleter> handle(curl_easy_init());
    if (!handle) throw std::runtime_error("curl_easy_init failed");
    const std::unique_ptr<curl_slist, CurlListDeleter> headers(
        curl_slist_append(nullptr, "Content-Type: application/json"));
    std::string response;
    set_option(handle.get(), CURLOPT_URL, url.c_str());
    set_option(handle.get(), CURLOPT_NOSIGNAL, 1L);
    set_option(handle.get(), CURLOPT_TIMEOUT_MS, 10'000L);
    set_option(handle.get(), CURLOPT_HTTPHEADER, headers.get());
    set_option(handle.get(), CURLOPT_WRITEFUNCTION, &append_to_string);
    set_option(handle.get(), CURLOPT_WRITEDATA, static_cast<void*>(&response));
    if (post) {
        set_option(handle.get(), CURLOPT_POSTFIELDS, body.c_str());
        set_option(handle.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    }
    if (const CURLcode code = curl_easy_perform(handle.get()); code != CURLE_OK) {
        throw std::runtime_error("control call " + url + " failed: " + curl_easy_strerror(code));
    }
    long status = 0;
    curl_easy_getinfo(handle.get(), CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) throw std::runtime_error("control call " + url + ": HTTP " + std::to_string(status));
    return json::parse(response);
}

// ---- helpers -------------------------------------------------------------------------------------

std::string text(const json::value& value) {
    if (!value.is_string()) return "<" + json::serialize(value) + ">";
    return {value.get_string().data(), value.get_string().size()};
}

std::string kind_name(Kind kind) {
    switch (kind) {
        case Kind::kApproved:
            return "approved";
        case Kind::kDeclined:
            return "declined";
        case Kind::kTransient:
            return "transient";
        case Kind::kRejected:
            return "rejected";
        case Kind::kPending:
            return "pending";
    }
    return "?";
}

std::string describe(const ChargeOutcome& outcome) {
    return kind_name(outcome.kind) + " ref='" + outcome.provider_reference + "' message='" + outcome.message +
           "'";
}

ChargeRequest make_request(std::string idempotency_key, std::string token = "tok_ok") {
    ChargeRequest request;
    request.payment_id = 42;
    request.order_id = 7;
    request.idempotency_key = std::move(idempotency_key);
    request.amount_cents = 1999;
    request.currency = "USD";
    request.method_token = std::move(token);
    return request;
}

class StripeProviderTest : public ::testing::Test {
protected:
    StripeSettings settings() const {
        StripeSettings settings;
        settings.base_url = gateway_.url();
        settings.secret_key = kSecretKey;
        settings.timeout = 10s;
        settings.connect_timeout = 2s;
        return settings;
    }

    // One charge through a fresh provider, driven on this test's io_context.
    ChargeOutcome charge(const StripeSettings& settings, ChargeRequest request) {
        StripeProvider provider(settings, cpu_);
        ChargeOutcome outcome = test::run_coro(ctx_, provider.charge(std::move(request)));
        EXPECT_EQ(outcome.message.find(settings.secret_key), std::string::npos) << outcome.message;
        return outcome;
    }
    ChargeOutcome charge(ChargeRequest request) { return charge(settings(), std::move(request)); }

    json::array requests() { return control(gateway_.url() + "/_control/requests", false).as_array(); }
    json::object charges() { return control(gateway_.url() + "/_control/charges", false).as_object(); }
    std::int64_t charge_count() { return charges().at("count").as_int64(); }
    std::string charged_intent(const std::string& key) {
        const json::object summary = charges();
        const auto* id = summary.at("keys").as_object().if_contains(key);
        return id == nullptr ? std::string() : text(*id);
    }
    void queue_faults(const std::vector<std::string>& faults) {
        json::array list;
        for (const auto& fault : faults) list.emplace_back(fault);
        const json::object body{{"faults", std::move(list)}};
        control(gateway_.url() + "/_control/faults", true, json::serialize(body));
    }

    FakeGateway gateway_;
    // The io_context outlives the CPU pool: a pool thread that has just handed a charge's result
    // back may still hold a (work-counting) executor of ctx_ until the pool is joined.
    boost::asio::io_context ctx_;
    core::CpuPool cpu_{2};
};

void expect_payment_request(const json::value& entry, const std::string& key, const std::string& token) {
    const auto& request = entry.as_object();
    EXPECT_EQ(text(request.at("method")), "POST");
    EXPECT_EQ(text(request.at("path")), "/v1/payment_intents");
    EXPECT_EQ(text(request.at("idempotency_key")), key);
    EXPECT_EQ(text(request.at("authorization")), std::string("Bearer ") + kSecretKey);
    EXPECT_EQ(text(request.at("content_type")), "application/x-www-form-urlencoded");
    const auto& params = request.at("params").as_object();
    EXPECT_EQ(params.size(), 6U) << json::serialize(params);
    EXPECT_EQ(text(params.at("amount")), "1999");
    EXPECT_EQ(text(params.at("currency")), "usd");
    EXPECT_EQ(text(params.at("payment_method")), token);
    EXPECT_EQ(text(params.at("confirm")), "true");
    EXPECT_EQ(text(params.at("metadata[order_id]")), "7");
    EXPECT_EQ(text(params.at("metadata[payment_id]")), "42");
}

// ---- approvals, declines, rejections -------------------------------------------------------------

TEST_F(StripeProviderTest, ApprovesAndSendsTheExpectedRequest) {
    const ChargeOutcome outcome = charge(make_request("pay-42-a"));
    ASSERT_EQ(outcome.kind, Kind::kApproved) << describe(outcome);
    EXPECT_EQ(outcome.provider_reference.rfind("pi_", 0), 0U) << describe(outcome);
    EXPECT_EQ(charge_count(), 1);
    EXPECT_EQ(charged_intent("pay-42-a"), outcome.provider_reference);
    const auto log = requests();
    ASSERT_EQ(log.size(), 1U);
    expect_payment_request(log[0], "pay-42-a", "tok_ok");
    EXPECT_EQ(log[0].at("status").as_int64(), 200);
}

TEST_F(StripeProviderTest, ApprovesATestPaymentMethod) {
    const ChargeOutcome outcome = charge(make_request("pay-visa", "pm_card_visa"));
    EXPECT_EQ(outcome.kind, Kind::kApproved) << describe(outcome);
}

TEST_F(StripeProviderTest, UrlEncodesFieldValues) {
    const std::string token = "tok_ok&amount=1 +%/\xc3\xbc";
    const ChargeOutcome outcome = charge(make_request("pay-encoded", token));
    // An unknown payment method: 400, and nothing leaked into the other fields.
    EXPECT_EQ(outcome.kind, Kind::kRejected) << describe(outcome);
    const auto log = requests();
    ASSERT_EQ(log.size(), 1U);
    expect_payment_request(log[0], "pay-encoded", token);
    EXPECT_EQ(charge_count(), 0);
}

TEST_F(StripeProviderTest, ReplaysTheSameKeyWithoutChargingTwice) {
    const ChargeOutcome first = charge(make_request("pay-replay"));
    const ChargeOutcome second = charge(make_request("pay-replay"));
    ASSERT_EQ(first.kind, Kind::kApproved) << describe(first);
    ASSERT_EQ(second.kind, Kind::kApproved) << describe(second);
    EXPECT_EQ(first.provider_reference, second.provider_reference);
    EXPECT_EQ(charge_count(), 1);
    EXPECT_EQ(requests().size(), 2U);
}

TEST_F(StripeProviderTest, CardErrorIsDeclined) {
    const ChargeOutcome outcome = charge(make_request("pay-declined", "tok_declined"));
    ASSERT_EQ(outcome.kind, Kind::kDeclined) << describe(outcome);
    EXPECT_NE(outcome.message.find("card_declined"), std::string::npos) << outcome.message;
    EXPECT_NE(outcome.message.find("Your card was declined."), std::string::npos) << outcome.message;
    EXPECT_EQ(outcome.provider_reference.rfind("pi_", 0), 0U) << describe(outcome);
    EXPECT_EQ(charge_count(), 0);
}

TEST_F(StripeProviderTest, InvalidRequestIsRejected) {
    const ChargeOutcome outcome = charge(make_request("pay-invalid", "tok_invalid"));
    ASSERT_EQ(outcome.kind, Kind::kRejected) << describe(outcome);
    EXPECT_NE(outcome.message.find("HTTP 400"), std::string::npos) << outcome.message;
    EXPECT_EQ(charge_count(), 0);
}

TEST_F(StripeProviderTest, WrongSecretKeyIsRejectedWithoutNamingIt) {
    StripeSettings wrong = settings();
    wrong.secret_key = "sk_test_not_the_right_one";
    const ChargeOutcome outcome = charge(wrong, make_request("pay-wrong-key"));
    ASSERT_EQ(outcome.kind, Kind::kRejected) << describe(outcome);
    EXPECT_NE(outcome.message.find("HTTP 401"), std::string::npos) << outcome.message;
    EXPECT_EQ(charge_count(), 0);
}

TEST_F(StripeProviderTest, KeyReusedWithOtherParametersIsRejected) {
    ASSERT_EQ(charge(make_request("pay-reused")).kind, Kind::kApproved);
    ChargeRequest other = make_request("pay-reused");
    other.amount_cents = 2999;
    const ChargeOutcome outcome = charge(std::move(other));
    EXPECT_EQ(outcome.kind, Kind::kRejected) << describe(outcome);
    EXPECT_NE(outcome.message.find("idempotency_error"), std::string::npos) << outcome.message;
    EXPECT_EQ(charge_count(), 1);
}

TEST_F(StripeProviderTest, ClassifiesPaymentIntentStatuses) {
    const ChargeOutcome processing = charge(make_request("pay-processing", "tok_processing"));
    EXPECT_EQ(processing.kind, Kind::kTransient) << describe(processing);
    EXPECT_NE(processing.message.find("processing"), std::string::npos) << processing.message;
    EXPECT_EQ(processing.provider_reference.rfind("pi_", 0), 0U) << describe(processing);

    const ChargeOutcome action = charge(make_request("pay-action", "tok_requires_action"));
    EXPECT_EQ(action.kind, Kind::kTransient) << describe(action);
    EXPECT_NE(action.message.find("requires_action"), std::string::npos) << action.message;

    const ChargeOutcome declined = charge(make_request("pay-rpm", "tok_requires_payment_method"));
    EXPECT_EQ(declined.kind, Kind::kDeclined) << describe(declined);
    EXPECT_NE(declined.message.find("insufficient_funds"), std::string::npos) << declined.message;
    EXPECT_EQ(charge_count(), 0);
}

TEST_F(StripeProviderTest, IdempotencyKeyIsRequired) {
    const ChargeOutcome outcome = charge(make_request(""));
    EXPECT_EQ(outcome.kind, Kind::kRejected) << describe(outcome);
    const ChargeOutcome injected = charge(make_request("key\r\nX-Evil: 1"));
    EXPECT_EQ(injected.kind, Kind::kRejected) << describe(injected);
    EXPECT_TRUE(requests().empty());
}

// ---- faults, then a retry with the same key --------------------------------------------------------

// ---- refunds ------------------------------------------------------------------------------------

RefundRequest make_refund(std::string key, std::string intent, std::int64_t amount) {
    RefundRequest request;
    request.refund_id = 9;
    request.payment_id = 42;
    request.idempotency_key = std::move(key);
    request.payment_reference = std::move(intent);
    request.amount_cents = amount;
    return request;
}

TEST_F(StripeProviderTest, RefundsWithTheRefundsKeyOnceAndNeverMoreThanTheCharge) {
    const ChargeOutcome charged = charge(make_request("pay-for-refund"));
    ASSERT_EQ(charged.kind, Kind::kApproved) << describe(charged);
    StripeProvider provider(settings(), cpu_);
    // A fault first: transient; the retry with the same key makes the one refund.
    queue_faults({"500_after_charge"});
    const RefundOutcome lost = test::run_coro(ctx_, provider.refund(make_refund("refund-a", charged.provider_reference, 999)));
    EXPECT_EQ(lost.kind, Kind::kTransient) << describe(lost);
    const RefundOutcome first = test::run_coro(ctx_, provider.refund(make_refund("refund-a", charged.provider_reference, 999)));
    ASSERT_EQ(first.kind, Kind::kApproved) << describe(first);
    EXPECT_EQ(first.provider_reference.rfind("re_", 0), 0U) << describe(first);
    EXPECT_EQ(charges().at("refunds").as_int64(), 1) << "the retry replayed the first refund";
    const auto log = requests();
    const auto& last = log.back().as_object();
    EXPECT_EQ(text(last.at("path")), "/v1/refunds");
    EXPECT_EQ(text(last.at("idempotency_key")), "refund-a");
    const auto& params = last.at("params").as_object();
    EXPECT_EQ(text(params.at("payment_intent")), charged.provider_reference);
    EXPECT_EQ(text(params.at("amount")), "999");
    EXPECT_EQ(text(params.at("metadata[refund_id]")), "9");
    // 1999 captured, 999 refunded: 1001 more is refused for good, 1000 goes through.
    const RefundOutcome above = test::run_coro(ctx_, provider.refund(make_refund("refund-b", charged.provider_reference, 1001)));
    EXPECT_EQ(above.kind, Kind::kRejected) << describe(above);
    const RefundOutcome rest = test::run_coro(ctx_, provider.refund(make_refund("refund-c", charged.provider_reference, 1000)));
    EXPECT_EQ(rest.kind, Kind::kApproved) << describe(rest);
    const RefundOutcome unknown = test::run_coro(ctx_, provider.refund(make_refund("refund-d", "pi_nope", 1)));
    EXPECT_EQ(unknown.kind, Kind::kRejected) << describe(unknown);
    EXPECT_EQ(charges().at("refunds").as_int64(), 2);
}

TEST_F(StripeProviderTest, ARefundStripeLeavesPendingIsPendingNotAFailure) {
    const ChargeOutcome charged = charge(make_request("pay-for-pending"));
    ASSERT_EQ(charged.kind, Kind::kApproved) << describe(charged);
    StripeProvider provider(settings(), cpu_);
    // The fake leaves a refund of 777 cents pending, as Stripe does for some payment methods.
    const RefundOutcome pending = test::run_coro(ctx_, provider.refund(make_refund("refund-p", charged.provider_reference, 777)));
    EXPECT_EQ(pending.kind, Kind::kPending) << describe(pending);
    EXPECT_EQ(pending.provider_reference.rfind("re_", 0), 0U) << describe(pending);
}

class StripeFaultTest : public StripeProviderTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(StripeFaultTest, FaultIsTransientAndTheRetryGetsTheOneCharge) {
    const std::string fault = GetParam();
    const std::string key = "pay-fault-" + fault;
    queue_faults({fault});

    const ChargeOutcome first = charge(make_request(key));
    EXPECT_EQ(first.kind, Kind::kTransient) << describe(first);
    EXPECT_FALSE(first.message.empty());

    const ChargeOutcome retry = charge(make_request(key));
    ASSERT_EQ(retry.kind, Kind::kApproved) << describe(retry);
    EXPECT_EQ(charge_count(), 1);
    EXPECT_EQ(charged_intent(key), retry.provider_reference);

    const auto log = requests();
    ASSERT_EQ(log.size(), 2U);
    EXPECT_EQ(text(log[0].at("fault")), fault);
    EXPECT_TRUE(log[1].at("fault").is_null());
    expect_payment_request(log[0], key, "tok_ok");
    expect_payment_request(log[1], key, "tok_ok");
}

INSTANTIATE_TEST_SUITE_P(Faults,
                         StripeFaultTest,
                         ::testing::Values("500",
                                           "502",
                                           "503",
                                           "429",
                                           "409",
                                           "drop",
                                           "reset",
                                           "malformed",
                                           "drop_after_charge",
                                           "500_after_charge"),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                             return "fault_" + param.param;
                         });

TEST_F(StripeProviderTest, ClientTimeoutIsTransientAndTheLateAnswerChargesNothingMore) {
    StripeSettings impatient = settings();
    impatient.timeout = 1s;
    queue_faults({"timeout"});

    const auto started = Clock::now();
    const ChargeOutcome first = charge(impatient, make_request("pay-slow"));
    const auto elapsed = Clock::now() - started;
    EXPECT_EQ(first.kind, Kind::kTransient) << describe(first);
    EXPECT_NE(first.message.find("Timeout"), std::string::npos) << first.message;
    EXPECT_GE(elapsed, 900ms);
    EXPECT_LT(elapsed, std::chrono::seconds(kSlowSeconds));

    const ChargeOutcome retry = charge(impatient, make_request("pay-slow"));
    ASSERT_EQ(retry.kind, Kind::kApproved) << describe(retry);

    // The gateway finishes the first (abandoned) request later: it must replay, not charge again.
    const auto deadline = Clock::now() + std::chrono::seconds(kSlowSeconds + 5);
    json::array log = requests();
    while (!(log.size() == 2U && log[0].at("done").as_bool()) && Clock::now() < deadline) {
        std::this_thread::sleep_for(50ms);  // waiting for an external process: poll with a deadline
        log = requests();
    }
    ASSERT_EQ(log.size(), 2U);
    ASSERT_TRUE(log[0].at("done").as_bool()) << json::serialize(log);
    EXPECT_EQ(text(log[0].at("fault")), "timeout");
    EXPECT_EQ(log[0].at("status").as_int64(), 200);
    EXPECT_EQ(charge_count(), 1);
    EXPECT_EQ(charged_intent("pay-slow"), retry.provider_reference);
}

void tick(boost::asio::steady_timer& timer, const bool& done, int& ticks) {
    timer.expires_after(50ms);
    timer.async_wait([&timer, &done, &ticks](boost::system::error_code ec) {
        if (ec || done) return;
        ++ticks;
        tick(timer, done, ticks);
    });
}

TEST_F(StripeProviderTest, SlowAnswerDoesNotBlockTheCallingThread) {
    queue_faults({"timeout"});  // answered after kSlowSeconds, within the 10 s client timeout
    StripeProvider provider(settings(), cpu_);
    boost::asio::io_context ctx;  // run by this thread only
    std::optional<ChargeOutcome> outcome;
    bool done = false;
    boost::asio::co_spawn(ctx,
                          provider.charge(make_request("pay-async")),
                          [&](const std::exception_ptr& /*error*/, ChargeOutcome o) {
                              outcome = std::move(o);
                              done = true;
                          });
    boost::asio::steady_timer timer(ctx);
    int ticks = 0;
    tick(timer, done, ticks);

    const auto deadline = Clock::now() + 20s;
    while (!done && Clock::now() < deadline) ctx.run_one_for(100ms);
    timer.cancel();
    ctx.run_for(1s);
    ASSERT_TRUE(outcome.has_value());
    EXPECT_EQ(outcome->kind, Kind::kApproved) << describe(*outcome);
    // ~60 ticks of 50 ms fit in the 3 s the gateway sleeps; a blocked thread would see none.
    EXPECT_GE(ticks, 20);
}

// ---- no gateway ------------------------------------------------------------------------------------

TEST(StripeProviderNoGatewayTest, ConnectionRefusedIsTransientAndQuick) {
    boost::asio::io_context ctx;  // outlives the pool, as in StripeProviderTest
    core::CpuPool cpu(1);
    StripeSettings settings;
    settings.base_url = "http://127.0.0.1:" + std::to_string(free_port());
    settings.secret_key = kSecretKey;
    StripeProvider provider(settings, cpu);
    const auto started = Clock::now();
    const ChargeOutcome outcome = test::run_coro(ctx, provider.charge(make_request("pay-refused")));
    EXPECT_EQ(outcome.kind, Kind::kTransient) << describe(outcome);
    EXPECT_LT(Clock::now() - started, 2s);
    EXPECT_NE(outcome.message.find("no answer"), std::string::npos) << outcome.message;
}

TEST(StripeProviderNoGatewayTest, RefusesSettingsThatCanNeverWork) {
    core::CpuPool cpu(1);
    const auto make = [&cpu](StripeSettings settings) { StripeProvider provider(std::move(settings), cpu); };
    StripeSettings valid;
    valid.secret_key = kSecretKey;
    EXPECT_NO_THROW(make(valid));

    StripeSettings bad = valid;
    bad.base_url = "ftp://api.stripe.com";
    EXPECT_THROW(make(bad), std::invalid_argument);
    bad.base_url = "https://";
    EXPECT_THROW(make(bad), std::invalid_argument);
    bad = valid;
    bad.secret_key.clear();
    EXPECT_THROW(make(bad), std::invalid_argument);
    bad.secret_key = "sk_test\r\nX: y";
    EXPECT_THROW(make(bad), std::invalid_argument);
    bad = valid;
    bad.timeout = 0ms;
    EXPECT_THROW(make(bad), std::invalid_argument);
    bad = valid;
    bad.connect_timeout = -1ms;
    EXPECT_THROW(make(bad), std::invalid_argument);
}

}  // namespace
}  // namespace emporium::payments
