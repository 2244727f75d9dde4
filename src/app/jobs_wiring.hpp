#pragma once
// Builds the job system and the order documents from the configuration (serve, worker, scheduler).

#include "core/config.hpp"
#include "jobs/job_queue.hpp"
#include "jobs/outbox_relay.hpp"
#include "jobs/worker.hpp"
#include "notify/mailer.hpp"
#include "notify/notify_service.hpp"
#include "payments/payments_service.hpp"
#include "payments/sandbox_provider.hpp"
#include "payments/stripe_provider.hpp"
#include "recommend/recommend_service.hpp"
#include "webhooks/webhooks_service.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>

namespace emporium::app {

// Job types and the queue each runs in.
inline constexpr std::string_view kEmailOrderConfirmation = "email.order_confirmation";
inline constexpr std::string_view kReceiptRender = "receipt.render";
inline constexpr std::string_view kOrdersExpire = "orders.expire";
inline constexpr std::string_view kCartsExpire = "carts.expire";
inline constexpr std::string_view kOutboxSweep = "outbox.sweep";
inline constexpr std::string_view kNoop = "noop";
inline constexpr std::string_view kRecommendRebuild = "recommend.rebuild";
inline constexpr std::string_view kRecommendOrderPaid = "recommend.order_paid";
inline constexpr std::string_view kCatalogPurgeChanges = "catalog.purge_changes";

// Which jobs each outbox event starts.
inline jobs::EventRoutes event_routes() {
    jobs::EventRoutes routes;
    routes.on("order.paid", std::string(kEmailOrderConfirmation), "email");
    routes.on("order.paid", std::string(kReceiptRender), "receipt");
    routes.on("order.paid", std::string(kRecommendOrderPaid), "recommend");
    routes.on("payment.requested", std::string(payments::kCaptureJob), "payment");
    routes.on("refund.requested", std::string(payments::kRefundJob), "payment");
    for (const char* outcome : {"payment.captured", "payment.declined", "payment.failed"}) {
        routes.on(outcome, std::string(payments::kSettleJob), "payment");
    }
    // A webhook delivery to send (made by the relay's fan-out, or replayed).
    routes.on(std::string(webhooks::kSendEvent), std::string(webhooks::kDeliverJob), std::string(webhooks::kQueue));
    // Benchmarks measure commit-to-handler latency with these.
    routes.on("bench.noop", std::string(kNoop), "default");
    return routes;
}

inline notify::MailSettings mail_settings(const core::Config& config) {
    notify::MailSettings s;
    s.smtp_url = config.mail.smtp_url;
    s.username = config.mail.smtp_username;
    s.password = config.mail.smtp_password;
    s.starttls = config.mail.smtp_starttls == "off"        ? notify::MailSettings::Tls::kOff
                 : config.mail.smtp_starttls == "required" ? notify::MailSettings::Tls::kRequired
                                                           : notify::MailSettings::Tls::kTry;
    s.verify_peer = config.mail.smtp_verify_peer;
    s.timeout = config.mail.smtp_timeout;
    s.spool_dir = config.mail.spool_dir;
    return s;
}

inline notify::NotifySettings notify_settings(const core::Config& config) {
    notify::NotifySettings s;
    s.shop_name = config.shop_name;
    s.from = config.mail.from;
    if (!config.mail.receipt_tax_label.empty()) s.tax_label = config.mail.receipt_tax_label;
    s.tax_rate_bps = config.mail.receipt_tax_rate_bps;
    return s;
}

// Throws core::ConfigError for a malformed JOB_RETRY_POLICIES.
inline jobs::RetryPolicies retry_policies(const core::Config& config) {
    jobs::RetryPolicy fallback{config.jobs.retry_base, config.jobs.retry_cap, config.jobs.max_attempts,
                               config.jobs.job_timeout};
    jobs::RetryPolicies policies;
    try {
        policies = jobs::RetryPolicies::parse(config.jobs.retry_policies, fallback);
    } catch (const std::invalid_argument& e) {
        throw core::ConfigError(std::string("JOB_RETRY_POLICIES: ") + e.what());
    }
    // Captures retry sooner than the default and may take a whole provider timeout per try.
    if (config.jobs.retry_policies.find(std::string(payments::kCaptureJob) + "=") == std::string::npos) {
        policies.set(std::string(payments::kCaptureJob),
                     jobs::RetryPolicy{std::chrono::milliseconds(std::min<std::int64_t>(500, config.jobs.retry_base.count())),
                                       std::min(config.jobs.retry_cap, std::chrono::milliseconds(30'000)),
                                       config.jobs.max_attempts,
                                       config.payments.timeout + std::chrono::milliseconds(5'000)});
    }
    // A delivery may take a whole WEBHOOK_TIMEOUT_MS per try.
    if (config.jobs.retry_policies.find(std::string(webhooks::kDeliverJob) + "=") == std::string::npos) {
        policies.set(std::string(webhooks::kDeliverJob),
                     jobs::RetryPolicy{config.jobs.retry_base, config.jobs.retry_cap, config.jobs.max_attempts,
                                       std::max(config.jobs.job_timeout,
                                                config.jobs.webhook_timeout + std::chrono::milliseconds(5'000))});
    }
    return policies;
}

inline webhooks::WebhooksSettings webhooks_settings(const core::Config& config) {
    webhooks::WebhooksSettings s;
    const auto policy = retry_policies(config).of(webhooks::kDeliverJob);
    s.max_attempts = policy.max_attempts;
    s.stuck_after = policy.cap + policy.timeout + std::chrono::minutes(1);
    return s;
}

inline webhooks::SenderSettings sender_settings(const core::Config& config) {
    webhooks::SenderSettings s;
    s.timeout = config.jobs.webhook_timeout;
    s.connect_timeout = std::min(config.jobs.webhook_timeout, std::chrono::milliseconds(3'000));
    s.threads = static_cast<std::size_t>(config.jobs.webhook_senders);
    return s;
}

inline recommend::RecommendSettings recommend_settings(const core::Config& config) {
    recommend::RecommendSettings s;
    s.top_k = static_cast<std::size_t>(config.recommend.top_k);
    s.scoring = recommend::parse_scoring(config.recommend.scoring).value_or(recommend::Scoring::kCount);
    s.batch_orders = config.recommend.batch_orders;
    s.read_streams = static_cast<std::size_t>(config.recommend.read_streams);
    s.cache_ttl = config.recommend.cache_ttl;
    return s;
}

inline payments::PaymentsSettings payments_settings(const core::Config& config) {
    payments::PaymentsSettings s;
    s.provider = config.payments.provider;
    s.max_attempts = retry_policies(config).of(payments::kCaptureJob).max_attempts;
    s.refund_max_attempts = retry_policies(config).of(payments::kRefundJob).max_attempts;
    s.webhook_secret = config.payments.webhook_secret;
    s.webhook_tolerance = config.payments.webhook_tolerance;
    s.return_window = std::chrono::days(config.payments.return_window_days);
    return s;
}

inline std::shared_ptr<payments::PaymentProvider> payment_provider(const core::Config& config, core::CpuPool& cpu) {
    if (config.payments.provider == "stripe") {
        payments::StripeSettings s;
        s.base_url = config.payments.stripe_base_url;
        s.secret_key = config.payments.stripe_api_key;
        s.timeout = config.payments.timeout;
        return std::make_shared<payments::StripeProvider>(s, cpu);
    }
    return std::make_shared<payments::SandboxProvider>(config.payments.timeout);
}

inline jobs::RelaySettings relay_settings(const core::Config& config) {
    jobs::RelaySettings s;
    s.batch = config.jobs.outbox_batch;
    s.poll_interval = config.jobs.outbox_poll;
    return s;
}

}  // namespace emporium::app
