// Composition root: reads the configuration, builds the objects, runs the chosen subcommand.
#include "app/commands.hpp"
#include "app/recommend_commands.hpp"
#include "core/config.hpp"
#include "core/log.hpp"

#include <CLI/CLI.hpp>
#include <sodium.h>

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>

namespace {

int run(int argc, char** argv) {
    using namespace emporium;
    if (sodium_init() < 0) {
        std::fprintf(stderr, "libsodium failed to initialise\n");
        return 1;
    }
    CLI::App cli{"Emporium e-commerce backend"};
    cli.require_subcommand(1);
    // Global options (--env-file) are accepted after the subcommand too: `emporium serve --env-file x`.
    cli.fallthrough();
    std::string env_file = ".env";
    cli.add_option("--env-file", env_file, "optional .env file (environment variables win)");

    auto* serve = cli.add_subcommand("serve", "run the HTTP API server");
    auto* migrate = cli.add_subcommand("migrate", "apply pending database migrations");
    app::MigrateOptions migrate_opts;
    // Durations with a unit (case-sensitive): 500ms, 90s, 45min, 6h.
    const std::map<std::string, std::int64_t> ms_per_unit{
        {"ms", 1}, {"s", 1'000}, {"min", 60'000}, {"h", 3'600'000}};
    migrate
        ->add_option("--statement-timeout",
                     migrate_opts.statement_timeout_ms,
                     "longest one migration statement (an index build) may run, e.g. 90min, 6h (default 6h)")
        ->transform(CLI::AsNumberWithUnit(ms_per_unit, CLI::AsNumberWithUnit::UNIT_REQUIRED))
        ->check(CLI::Range(std::int64_t{1'000}, std::int64_t{7} * 24 * 3'600'000));
    auto* seed = cli.add_subcommand("seed", "load deterministic demo data");
    app::SeedOptions seed_opts;
    seed->add_option("--products", seed_opts.products, "number of products")->check(CLI::Range(0, 10'000'000));
    seed->add_option("--users", seed_opts.users, "number of users")->check(CLI::Range(0, 10'000'000));
    seed->add_option("--orders", seed_opts.orders, "number of historical orders")->check(CLI::Range(0, 100'000'000));
    seed->add_option("--seed", seed_opts.seed, "random seed (same seed, same data)");
    seed->add_flag("--if-empty", seed_opts.only_if_empty, "do nothing when products already exist");
    app::ProgressMode seed_progress = app::ProgressMode::kAuto;
    seed->add_option("--progress", seed_progress, "auto (on a terminal) | always | never")
        ->transform(CLI::CheckedTransformer(
            std::map<std::string, app::ProgressMode>{{"auto", app::ProgressMode::kAuto},
                                                     {"always", app::ProgressMode::kAlways},
                                                     {"never", app::ProgressMode::kNever}}));
    auto* create_admin = cli.add_subcommand(
        "create-admin",
        "create an administrator (password from EMPORIUM_ADMIN_PASSWORD or one line of stdin)");
    app::CreateAdminOptions admin_opts;
    create_admin->add_option("--email", admin_opts.email, "the admin's e-mail address")->required();
    create_admin->add_option("--name", admin_opts.name, "display name");
    auto* expire_orders = cli.add_subcommand("expire-orders", "expire unpaid orders past their deadline");
    auto* expire_carts =
        cli.add_subcommand("expire-carts", "release cart holds past their deadline and expire inactive carts");
    auto* inventory = cli.add_subcommand("inventory", "stock ledger audit and Redis mirror");
    std::string inventory_action;
    inventory->add_option("action", inventory_action, "audit | resync")
        ->required()
        ->check(CLI::IsMember({"audit", "resync"}));
    auto* worker = cli.add_subcommand("worker", "run background jobs and the outbox relay");
    app::WorkerOptions worker_opts;
    worker->add_option("--queues", worker_opts.queues, "queues to consume (default: WORKER_QUEUES, else all)")
        ->delimiter(',')
        ->check(CLI::IsMember({"email", "receipt", "payment", "recommend", "webhook", "default"}));
    worker->add_option("--concurrency", worker_opts.concurrency, "jobs run at once (default: WORKER_CONCURRENCY)")
        ->check(CLI::Range(1, 1024));
    worker->add_flag("--no-relay", worker_opts.no_relay, "do not move outbox events to the queues in this process");
    auto* scheduler = cli.add_subcommand("scheduler", "fire periodic jobs (safe to run several)");
    auto* recommend = cli.add_subcommand("recommend", "recommendations: rebuild the model, evaluate offline");
    recommend->require_subcommand(1);
    auto* recommend_rebuild = recommend->add_subcommand("rebuild", "recompute \"frequently bought together\" now");
    auto* recommend_evaluate = recommend->add_subcommand(
        "evaluate", "offline HitRate@5/@10 and MRR of each scoring mode on a basket file (no database)");
    app::RecommendEvaluateOptions evaluate_opts;
    recommend_evaluate->add_option("--input", evaluate_opts.input, "basket file (- for stdin)")->required();
    recommend_evaluate->add_option("--format", evaluate_opts.format, "auto | baskets | transactions")
        ->check(CLI::IsMember({"auto", "baskets", "transactions"}));
    recommend_evaluate
        ->add_option("--test-fraction", evaluate_opts.test_fraction, "share of baskets held out, in (0, 1)")
        ->check(CLI::Range(0.0, 1.0));  // the bounds themselves are refused by run_recommend_evaluate
    recommend_evaluate->add_option("--seed", evaluate_opts.seed, "split seed (same seed, same split)");
    auto* version = cli.add_subcommand("version", "print the version");

    CLI11_PARSE(cli, argc, argv);

    if (version->parsed()) {
        std::cout << "emporium " << app::version() << "\n";
        return 0;
    }
    // Reads a file only: no configuration or database needed.
    if (recommend_evaluate->parsed()) return app::run_recommend_evaluate(evaluate_opts);
    core::Config config;
    try {
        config = core::Config::load(core::ConfigSource::from_environment(env_file));
    } catch (const core::ConfigError& e) {
        std::fprintf(stderr, "configuration error: %s\n", e.what());
        return 2;
    }
    core::log::init(config.log_level);
    try {
        if (serve->parsed()) return app::run_serve(config);
        if (worker->parsed()) return app::run_worker(config, worker_opts);
        if (scheduler->parsed()) return app::run_scheduler(config);
        if (recommend_rebuild->parsed()) return app::run_recommend_rebuild(config);
        if (migrate->parsed()) return app::run_migrate(config, migrate_opts);
        if (seed->parsed()) return app::run_seed(config, seed_opts, seed_progress);
        if (create_admin->parsed()) return app::run_create_admin(config, admin_opts);
        if (expire_orders->parsed()) return app::run_expire_orders(config);
        if (expire_carts->parsed()) return app::run_expire_carts(config);
        if (inventory->parsed()) return app::run_inventory(config, inventory_action);
    } catch (const std::exception& e) {
        core::log::error("fatal", {{"error", e.what()}});
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    // What escapes run() (an allocation failure while parsing options) ends the process with a
    // message, not with std::terminate.
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "emporium: %s\n", e.what());
    } catch (...) {
        std::fprintf(stderr, "emporium: unknown error\n");
    }
    return 1;
}
