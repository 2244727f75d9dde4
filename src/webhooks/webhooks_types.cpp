#include "webhooks/webhooks_types.hpp"

#include "core/error.hpp"

#include <boost/algorithm/string/predicate.hpp>

#include <algorithm>

namespace emporium::webhooks {

namespace {

std::string_view group_of(std::string_view event_type) { return event_type.substr(0, event_type.find('.')); }

void check_patterns(const std::vector<std::string>& events, std::vector<core::FieldError>& errors) {
    for (std::size_t i = 0; i < events.size(); ++i) {
        if (!is_pattern(events[i])) {
            errors.push_back({"events/" + std::to_string(i),
                              "is not an event type, \"<group>.*\" (order, payment, refund, inventory, product) or "
                              "\"*\""});
        } else if (std::find(events.begin(), events.begin() + static_cast<std::ptrdiff_t>(i), events[i]) !=
                   events.begin() + static_cast<std::ptrdiff_t>(i)) {
            errors.push_back({"events/" + std::to_string(i), "is given twice"});
        }
    }
}

void check_url(const std::string& url, std::vector<core::FieldError>& errors) {
    if (!is_endpoint_url(url)) {
        errors.push_back({"url", "must be an http:// or https:// address with a host (no user name or password)"});
    }
}

}  // namespace

bool is_pattern(std::string_view pattern) {
    if (pattern == "*") return true;
    if (pattern.ends_with(".*")) {
        const auto group = pattern.substr(0, pattern.size() - 2);
        return std::find(kEventGroups.begin(), kEventGroups.end(), group) != kEventGroups.end();
    }
    return std::find(kEventTypes.begin(), kEventTypes.end(), pattern) != kEventTypes.end();
}

bool is_subscribable(std::string_view event_type) {
    if (event_type.find('.') == std::string_view::npos) return false;
    const auto group = group_of(event_type);
    return std::find(kEventGroups.begin(), kEventGroups.end(), group) != kEventGroups.end();
}

std::vector<std::string> patterns_for(std::string_view event_type) {
    return {"*", std::string(group_of(event_type)) + ".*", std::string(event_type)};
}

bool is_endpoint_url(std::string_view url) {
    if (url.size() > 2048) return false;
    std::string_view rest;
    if (boost::algorithm::istarts_with(url, "https://")) {
        rest = url.substr(8);
    } else if (boost::algorithm::istarts_with(url, "http://")) {
        rest = url.substr(7);
    } else {
        return false;
    }
    if (std::any_of(url.begin(), url.end(), [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == '\x7f'; })) {
        return false;
    }
    const auto authority = rest.substr(0, rest.find_first_of("/?#"));
    if (authority.empty() || authority.find('@') != std::string_view::npos) return false;
    const auto host = authority.substr(0, authority.rfind(':') == std::string_view::npos || authority.back() == ']'
                                               ? authority.size()
                                               : authority.rfind(':'));
    return !host.empty();
}

void check_decoded(NewWebhookEndpoint& body, std::vector<core::FieldError>& errors) {
    check_url(body.url, errors);
    check_patterns(body.events, errors);
}

void check_decoded(WebhookEndpointPatch& body, std::vector<core::FieldError>& errors) {
    if (body.url) check_url(*body.url, errors);
    if (body.events) check_patterns(*body.events, errors);
}

}  // namespace emporium::webhooks
