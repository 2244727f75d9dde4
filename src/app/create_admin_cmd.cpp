// `emporium create-admin`: the only way to create an administrator (the public API registers
// customers only). The password comes from EMPORIUM_ADMIN_PASSWORD or one line of stdin and must
// satisfy the same policy as registration.
#include "app/commands.hpp"
#include "app/wiring.hpp"
#include "auth/auth_service.hpp"
#include "core/cpu_pool.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>

#include <cstdlib>
#include <iostream>
#include <unistd.h>

namespace emporium::app {
namespace {

boost::asio::awaitable<core::Result<auth::User>> create_admin_task(core::Config config,
                                                                   auth::RegisterInput input,
                                                                   core::CpuPool* cpu) {
    auto ex = co_await boost::asio::this_coro::executor;
    db::Pool pool(ex, pool_options(config, 1));
    auto settings = auth::AuthSettings::from_config(config.auth);
    if (settings.jwt.secret.empty())
        settings.jwt.secret = core::random_hex_id();  // no tokens are issued here
    auth::AuthService service(
        std::move(settings), auth::AuthStore([&pool]() -> db::Pool& { return pool; }), *cpu);
    auto user = co_await service.create_admin(std::move(input));
    pool.close();
    co_return user;
}

std::optional<std::string> read_password() {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): read once, before any other thread starts
    if (const char* env = std::getenv("EMPORIUM_ADMIN_PASSWORD"); env != nullptr && *env != '\0') {
        return std::string(env);
    }
    if (::isatty(STDIN_FILENO) != 0) std::cerr << "Password for the new admin: " << std::flush;
    std::string line;
    if (!std::getline(std::cin, line)) return std::nullopt;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

}  // namespace

int run_create_admin(const core::Config& config, const CreateAdminOptions& options) {
    auto password = read_password();
    if (!password) {
        std::cerr << "create-admin: no password (set EMPORIUM_ADMIN_PASSWORD or pass one line on stdin)\n";
        return 2;
    }
    core::CpuPool cpu(1);
    boost::asio::io_context ctx;
    std::exception_ptr failure;
    core::Result<auth::User> result = core::make_error(core::Errc::kInternal, "not run");
    boost::asio::co_spawn(
        ctx,
        create_admin_task(config, auth::RegisterInput{options.email, *password, options.name}, &cpu),
        [&](const std::exception_ptr& e, core::Result<auth::User> r) {
            failure = e;
            if (!e) result = std::move(r);
        });
    ctx.run();
    cpu.join();
    if (failure) {
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            core::log::error("create-admin failed", {{"error", e.what()}});
            std::cerr << "create-admin failed: " << e.what() << "\n";
            return 1;
        }
    }
    if (!result) {
        std::cerr << "create-admin: " << result.error().message << "\n";
        for (const auto& f : result.error().details)
            std::cerr << "  " << f.field << ": " << f.message << "\n";
        return 1;
    }
    core::log::info("admin created", {{"user_id", result->id}});
    std::cout << "admin created: id=" << result->id << " email=" << result->email << "\n";
    return 0;
}

}  // namespace emporium::app
