#pragma once
// What the end-to-end tests share: the environment of the `emporium` processes they start, access
// tokens minted with that environment's JWT secret, accounts, products and orders through the API,
// the test's own database and Redis keys, problem+json checks and waiting for a condition.
//
// Most fixtures derive from E2EFixture (next to ::testing::Test or ::testing::TestWithParam); a
// fixture that brings its own PostgreSQL or Redis (faults_e2e) uses the free functions and Tokens.

#include "auth/jwt.hpp"
#include "db/pg.hpp"
#include "e2e/http_client.hpp"
#include "e2e/process.hpp"
#include "support/pg_fixture.hpp"

#include <boost/beast/http/verb.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace emporium::test {

using Env = std::map<std::string, std::string>;

// The password of the accounts the tests register through the API.
inline const std::string kE2EPassword = "correct horse battery";
// JWT_SECRET of every `emporium` process the tests start; Tokens signs with it.
inline const std::string kE2EJwtSecret = "e2e-secret-e2e-secret-e2e-secret-e2e-secret";

// ---- waiting, ports, files ----

// Calls `probe` every `every` until it returns true or `limit` passed; returns its last answer.
bool eventually(const std::function<bool()>& probe,
                std::chrono::milliseconds limit = std::chrono::seconds(20),
                std::chrono::milliseconds every = std::chrono::milliseconds(50));
// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
unsigned short free_port();
// True when something accepts TCP connections on 127.0.0.1:`port`.
bool accepts_connections(unsigned short port);
// The whole file; empty when it cannot be read.
std::string slurp(const std::filesystem::path& path);

// ---- JSON and problem+json ----

// The body parsed as JSON; throws boost::system::system_error when it is not JSON.
boost::json::value json_body(const HttpResponse& r);
// The body parsed as a JSON object; throws when it is not one.
boost::json::object json_object(const HttpResponse& r);
bool is_problem(const HttpResponse& r);
// The problem's `code`; empty when the answer is not problem+json or has no code.
std::string problem_code(const HttpResponse& r);
// `status` with an application/problem+json body, and `code` when it is not empty. `what` names
// the check in failure messages.
void expect_problem(const HttpResponse& r,
                    unsigned status,
                    const std::string& code = {},
                    const std::string& what = {});

// ---- requests ----

std::string bearer(const std::string& token);  // "Bearer <token>"
// http_call with an Authorization header when `authorization` ("Bearer …") is not empty.
HttpResponse authorized_call(unsigned short port,
                             boost::beast::http::verb method,
                             const std::string& target,
                             const std::string& authorization,
                             const std::string& body = "",
                             HttpHeaders headers = {});
// The body of POST /api/v1/orders for one line.
std::string order_body(std::int64_t product_id,
                       int quantity,
                       boost::json::object shipping_address = {{"city", "Oslo"}});

// The two tokens of a signed-in session.
struct Session {
    std::string access;   // "Bearer <jwt>"
    std::string refresh;  // the opaque refresh token
};
// POST /api/v1/auth/register, answered as it is.
HttpResponse register_user(unsigned short port,
                           const std::string& email,
                           const std::string& password = kE2EPassword,
                           const std::string& name = "User");
// POST /api/v1/auth/login, answered as it is.
HttpResponse login(unsigned short port,
                   const std::string& email,
                   const std::string& password = kE2EPassword,
                   const HttpHeaders& headers = {});
// Logs in (a failure is a test failure) and returns the session; empty tokens when it failed.
Session sign_in(unsigned short port, const std::string& email, const std::string& password = kE2EPassword);
// Registers a customer and logs in (failures are test failures); returns "Bearer <access token>".
std::string register_and_sign_in(unsigned short port,
                                 const std::string& email,
                                 const std::string& name = "User");
// POST /api/v1/products as `admin` with `fields` (sku, name, price_cents, stock, …); a status other
// than 201 is a test failure. Returns the product's id, 0 when it was not created.
std::int64_t create_product(unsigned short port, const std::string& admin, const boost::json::object& fields);

// ---- flash sales ----

// The answers to a flash sale's checkouts, counted by the threads that send them.
struct SaleTally {
    std::mutex mutex;
    int created = 0;                      // 201
    int conflict = 0;                     // 409: sold out
    int unavailable = 0;                  // 503
    int server_error = 0;                 // any other 5xx
    int unreachable = 0;                  // no answer
    std::vector<std::string> unexpected;  // every answer but 201, 409 and 503, with its body
};
// One customer's `orders` checkouts of one unit of `product` as `token` ("Bearer …"), spread
// round-robin over `ports` (starting at index `customer`), Idempotency-Key "c<customer>-<i>".
void shop_flash_sale(std::vector<unsigned short> ports,
                     std::string token,
                     int customer,
                     int orders,
                     std::int64_t product,
                     SaleTally* tally);

// ---- the database, Redis, processes ----

// One statement on a connection of its own.
db::QueryResult sql_query(const std::string& database_url, const std::string& text, db::Params params = {});
// The first column of the first row as an integer; 0 when there is no row or it is NULL.
std::int64_t sql_int(const std::string& database_url, const std::string& text, db::Params params = {});
// A product's stock: the live total of its variants (products.stock is only updated when one
// crosses zero).
std::int64_t product_stock(const std::string& database_url, std::int64_t product_id);
// A customer row inserted directly (its password hash matches no password); returns its id.
std::int64_t insert_user(const std::string& database_url, const std::string& email, const std::string& name);
// Deletes every key under `prefix` on the Redis at `redis_url`.
void delete_redis_prefix(const std::string& redis_url, const std::string& prefix);

// The environment of an `emporium` process in a test: `database_url`, `redis_url`, kE2EJwtSecret,
// a cheap Argon2id and warnings only; with a non-empty `key_prefix`, the rate-limit, cache and job
// keys go under it. `extra` wins over all of these.
Env emporium_env(const std::string& database_url,
                 const std::string& redis_url,
                 const std::string& key_prefix,
                 const Env& extra = {});
// Runs `emporium <args…> --env-file /nonexistent` to its end; returns the exit status (-1 when it
// did not end within `timeout`).
int run_emporium(std::vector<std::string> args,
                 const Env& env,
                 std::chrono::milliseconds timeout = std::chrono::seconds(30));
// Starts `emporium <role> --env-file /nonexistent <args…>` (role: worker, scheduler) and waits for
// its "emporium <role> running" line.
std::unique_ptr<Process> start_emporium(const std::string& role,
                                        const Env& env,
                                        const std::vector<std::string>& args = {});

// Access tokens as the servers issue them (kE2EJwtSecret, the default issuer and audience).
class Tokens {
public:
    Tokens();
    // "Bearer <jwt>" for `user_id` with `role`, valid for 15 minutes from now.
    std::string bearer(std::int64_t user_id, auth::Role role) const;
    // An admin's "Bearer <jwt>" (user 1).
    std::string admin() const { return bearer(1, auth::Role::kAdmin); }
    const auth::JwtCodec& codec() const { return codec_; }

private:
    auth::JwtCodec codec_;
};

// The usual fixture state: a fresh migrated database, a key prefix of its own on the test Redis
// (its keys are deleted at the end), tokens and an admin token.
class E2EFixture {
protected:
    // `name` goes into the key prefix: "e2e:<name>:<unique>:".
    explicit E2EFixture(const std::string& name);
    ~E2EFixture();
    E2EFixture(const E2EFixture&) = delete;
    E2EFixture& operator=(const E2EFixture&) = delete;

    // emporium_env for this test's database and key prefix.
    Env env(const Env& extra = {}) const;
    // A customer inserted in SQL; returns its id and "Bearer <jwt>".
    std::pair<std::int64_t, std::string> customer(const std::string& email,
                                                  const std::string& name = "C") const;
    // sql_int on this test's database.
    std::int64_t sql(const std::string& text, db::Params params = {}) const;
    // test::product_stock on this test's database.
    std::int64_t product_stock(std::int64_t product_id) const {
        return test::product_stock(db_.url, product_id);
    }

    TestDatabase db_;
    std::string prefix_;
    Tokens tokens_;
    std::string admin_;

private:
    std::string own_prefix_;  // prefix_ as first set: a test may extend prefix_, never leave it
};

}  // namespace emporium::test
