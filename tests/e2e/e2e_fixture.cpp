#include "e2e/e2e_fixture.hpp"

#include "integration/redis_support.hpp"
#include "redis/redis.hpp"
#include "support/run_coro.hpp"
#include "support/test_env.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>
#include <sodium.h>

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>

namespace emporium::test {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace json = boost::json;

bool eventually(const std::function<bool()>& probe,
                std::chrono::milliseconds limit,
                std::chrono::milliseconds every) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (probe()) return true;
        std::this_thread::sleep_for(every);
    }
    return probe();
}

unsigned short free_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return acceptor.local_endpoint().port();
}

bool accepts_connections(unsigned short port) {
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    boost::system::error_code ec;
    socket.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    return !ec;
}

std::string slurp(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

json::value json_body(const HttpResponse& r) {
    return json::parse(r.body());
}

json::object json_object(const HttpResponse& r) {
    return json::parse(r.body()).as_object();
}

bool is_problem(const HttpResponse& r) {
    return r[bhttp::field::content_type] == "application/problem+json";
}

std::string problem_code(const HttpResponse& r) {
    if (!is_problem(r)) return "";
    const auto body = json::parse(r.body());
    const auto* code = body.is_object() ? body.as_object().if_contains("code") : nullptr;
    return code != nullptr && code->is_string() ? std::string(code->as_string()) : "";
}

void expect_problem(const HttpResponse& r,
                    unsigned status,
                    const std::string& code,
                    const std::string& what) {
    EXPECT_EQ(r.result_int(), status) << what << (what.empty() ? "" : ": ") << r.body();
    EXPECT_EQ(r[bhttp::field::content_type], "application/problem+json") << what;
    if (!code.empty() && is_problem(r)) {
        EXPECT_EQ(problem_code(r), code) << what << (what.empty() ? "" : ": ") << r.body();
    }
}

std::string bearer(const std::string& token) {
    return "Bearer " + token;
}

HttpResponse authorized_call(unsigned short port,
                             bhttp::verb method,
                             const std::string& target,
                             const std::string& authorization,
                             const std::string& body,
                             HttpHeaders headers) {
    if (!authorization.empty()) headers.emplace_back("Authorization", authorization);
    return http_call(port, method, target, body, headers);
}

std::string order_body(std::int64_t product_id, int quantity, json::object shipping_address) {
    return json::serialize(
        json::object{{"items", json::array{json::object{{"product_id", product_id}, {"quantity", quantity}}}},
                     {"shipping_address", std::move(shipping_address)}});
}

HttpResponse register_user(unsigned short port,
                           const std::string& email,
                           const std::string& password,
                           const std::string& name) {
    return http_call(port,
                     bhttp::verb::post,
                     "/api/v1/auth/register",
                     json::serialize(json::object{{"email", email}, {"password", password}, {"name", name}}));
}

HttpResponse login(unsigned short port,
                   const std::string& email,
                   const std::string& password,
                   const HttpHeaders& headers) {
    return http_call(port,
                     bhttp::verb::post,
                     "/api/v1/auth/login",
                     json::serialize(json::object{{"email", email}, {"password", password}}),
                     headers);
}

Session sign_in(unsigned short port, const std::string& email, const std::string& password) {
    auto r = login(port, email, password);
    EXPECT_EQ(r.result_int(), 200U) << email << ": " << r.body();
    if (r.result_int() != 200) return {};
    const auto o = json_object(r);
    return {bearer(std::string(o.at("access_token").as_string())),
            std::string(o.at("refresh_token").as_string())};
}

std::string register_and_sign_in(unsigned short port, const std::string& email, const std::string& name) {
    auto r = register_user(port, email, kE2EPassword, name);
    EXPECT_EQ(r.result_int(), 201U) << email << ": " << r.body();
    return sign_in(port, email).access;
}

std::int64_t create_product(unsigned short port, const std::string& admin, const json::object& fields) {
    auto r = authorized_call(port, bhttp::verb::post, "/api/v1/products", admin, json::serialize(fields));
    EXPECT_EQ(r.result_int(), 201U) << r.body();
    return r.result_int() == 201 ? json_object(r).at("id").as_int64() : 0;
}

db::QueryResult sql_query(const std::string& database_url, const std::string& text, db::Params params) {
    asio::io_context io;
    db::PoolOptions options;
    options.connection.url = database_url;
    db::Pool pool(io.get_executor(), options);
    auto result = run_coro(io, pool.query_unprepared(text, std::move(params)));
    pool.close();
    return result;
}

std::int64_t sql_int(const std::string& database_url, const std::string& text, db::Params params) {
    const auto r = sql_query(database_url, text, std::move(params));
    return r.rows() == 0 || r.is_null(0, 0) ? 0 : r.get<std::int64_t>(0, 0);
}

std::int64_t product_stock(const std::string& database_url, std::int64_t product_id) {
    return sql_int(database_url,
                   "SELECT coalesce(sum(stock), 0)::bigint FROM product_variants WHERE product_id = $1",
                   db::params(product_id));
}

std::int64_t insert_user(const std::string& database_url, const std::string& email, const std::string& name) {
    return sql_int(
        database_url,
        "INSERT INTO users (email, password_hash, name) VALUES ($1, '$argon2id$x', $2) RETURNING id",
        db::params(email, name));
}

void shop_flash_sale(std::vector<unsigned short> ports,
                     std::string token,
                     int customer,
                     int orders,
                     std::int64_t product,
                     SaleTally* tally) {
    const std::string body = order_body(product, 1);
    for (int i = 0; i < orders; ++i) {
        const auto port = ports[static_cast<std::size_t>(customer + i) % ports.size()];
        const HttpHeaders headers{
            {"Authorization", token},
            {"Idempotency-Key", "c" + std::to_string(customer) + "-" + std::to_string(i)}};
        try {
            auto r = http_call(port, boost::beast::http::verb::post, "/api/v1/orders", body, headers);
            const std::lock_guard lock(tally->mutex);
            if (r.result_int() == 201) {
                ++tally->created;
            } else if (r.result_int() == 409) {
                ++tally->conflict;
            } else if (r.result_int() == 503) {
                ++tally->unavailable;
            } else {
                if (r.result_int() >= 500) ++tally->server_error;
                tally->unexpected.push_back(std::to_string(r.result_int()) + " " + r.body());
            }
        } catch (const boost::system::system_error&) {
            const std::lock_guard lock(tally->mutex);
            ++tally->unreachable;
        }
    }
}

void delete_redis_prefix(const std::string& redis_url, const std::string& prefix) {
    asio::io_context io;
    redis::ClientOptions options;
    options.url = redis_url;
    redis::Client client(io.get_executor(), options);
    run_coro(io, redis::test::delete_prefix(&client, prefix));
    client.close();
}

Env emporium_env(const std::string& database_url,
                 const std::string& redis_url,
                 const std::string& key_prefix,
                 const Env& extra) {
    Env env{{"DATABASE_URL", database_url},
            {"REDIS_URL", redis_url},
            {"JWT_SECRET", kE2EJwtSecret},
            {"ARGON2_MEMLIMIT_BYTES", "8192"},
            {"ARGON2_OPSLIMIT", "1"},
            {"LOG_LEVEL", "warn"}};
    if (!key_prefix.empty()) {
        for (const char* name : {"RATE_LIMIT_KEY_PREFIX", "CACHE_KEY_PREFIX", "JOBS_KEY_PREFIX"})
            env[name] = key_prefix;
    }
    for (const auto& [k, v] : extra) env[k] = v;
    return env;
}

int run_emporium(std::vector<std::string> args, const Env& env, std::chrono::milliseconds timeout) {
    args.insert(args.begin(), EMPORIUM_BINARY);
    args.emplace_back("--env-file");
    args.emplace_back("/nonexistent");
    Process p(std::move(args), env);
    return p.wait(timeout);
}

std::unique_ptr<Process> start_emporium(const std::string& role,
                                        const Env& env,
                                        const std::vector<std::string>& args) {
    std::vector<std::string> argv{EMPORIUM_BINARY, role, "--env-file", "/nonexistent"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto process = std::make_unique<Process>(std::move(argv), env);
    process->wait_for_line("emporium " + role + " running", std::chrono::seconds(20));
    return process;
}

namespace {

auth::JwtSettings e2e_jwt_settings() {
    // JwtCodec draws each token's jti from libsodium.
    if (sodium_init() < 0) throw std::runtime_error("sodium_init failed");
    return {kE2EJwtSecret, "emporium", "emporium-api", std::chrono::seconds(900), std::chrono::seconds(30)};
}

}  // namespace

Tokens::Tokens() : codec_(e2e_jwt_settings()) {}

std::string Tokens::bearer(std::int64_t user_id, auth::Role role) const {
    return test::bearer(codec_.issue(user_id, role, std::chrono::system_clock::now()));
}

E2EFixture::E2EFixture(const std::string& name)
    : prefix_("e2e:" + name + ":" + unique_suffix() + ":"), admin_(tokens_.admin()), own_prefix_(prefix_) {}

E2EFixture::~E2EFixture() {
    try {
        delete_redis_prefix(test_redis_url(), own_prefix_);
    } catch (const std::exception& e) {
        ADD_FAILURE() << "deleting the Redis keys under " << own_prefix_ << ": " << e.what();
    }
}

Env E2EFixture::env(const Env& extra) const {
    return emporium_env(db_.url, test_redis_url(), prefix_, extra);
}

std::pair<std::int64_t, std::string> E2EFixture::customer(const std::string& email,
                                                          const std::string& name) const {
    const auto id = insert_user(db_.url, email, name);
    return {id, tokens_.bearer(id, auth::Role::kCustomer)};
}

std::int64_t E2EFixture::sql(const std::string& text, db::Params params) const {
    return sql_int(db_.url, text, std::move(params));
}

}  // namespace emporium::test
