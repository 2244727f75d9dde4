#include "http/web_routes.hpp"

#include "core/log.hpp"
#include "http/endpoint.hpp"
#include "http/static_files.hpp"

#include <boost/algorithm/string/predicate.hpp>
#include <boost/describe/class.hpp>

#include <algorithm>

#include <filesystem>
#include <memory>

namespace emporium::http {
namespace {

namespace asio = boost::asio;

// Nothing from another origin, no inline script or style, no plugins, not framed.
constexpr std::string_view kPagePolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

struct WebState {
    StaticFiles pages;   // store.html, admin.html
    StaticFiles assets;  // assets/<name>-<hash>.{js,css}
};

struct AssetFile {
    std::string file;
};
BOOST_DESCRIBE_STRUCT(AssetFile, (), (file))

void common_headers(Reply<Bytes>& reply) {
    reply.header("X-Content-Type-Options", "nosniff");
    reply.header("Referrer-Policy", "no-referrer");
}

asio::awaitable<Reply<Bytes>> page(std::shared_ptr<WebState> state, std::string name) {
    const auto* file = state->pages.find(name);
    if (file == nullptr) {
        co_return core::make_error(core::Errc::kNotFound,
                                   "the storefront is not built (node web/build.mjs --out <WEB_DIR>)");
    }
    Reply<Bytes> reply(Bytes{file->body, file->content_type});
    reply.header("Cache-Control", "no-cache");
    reply.header("Content-Security-Policy", std::string(kPagePolicy));
    common_headers(reply);
    co_return reply;
}

asio::awaitable<Reply<Bytes>> store_page(std::shared_ptr<WebState> state, In<> /*in*/, Caller /*caller*/) {
    co_return co_await page(std::move(state), "store.html");
}

asio::awaitable<Reply<Bytes>> admin_page(std::shared_ptr<WebState> state, In<> /*in*/, Caller /*caller*/) {
    co_return co_await page(std::move(state), "admin.html");
}

asio::awaitable<Reply<NoContent>> admin_redirect(std::shared_ptr<WebState> /*state*/, In<> /*in*/,
                                                 Caller /*caller*/) {
    Reply<NoContent> reply(NoContent{});
    reply.header("Location", "/admin/");
    co_return reply;
}

// Whether Accept-Encoding allows gzip (a "gzip" token not weighted q=0).
bool accepts_gzip(std::string_view accept) {
    for (std::size_t at = 0; at < accept.size();) {
        auto end = accept.find(',', at);
        if (end == std::string_view::npos) end = accept.size();
        auto item = accept.substr(at, end - at);
        at = end + 1;
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        const auto semi = item.find(';');
        auto coding = item.substr(0, semi);
        while (!coding.empty() && coding.back() == ' ') coding.remove_suffix(1);
        if (!boost::algorithm::iequals(coding, "gzip")) continue;
        if (semi == std::string_view::npos) return true;
        auto params = item.substr(semi + 1);
        params.remove_prefix(std::min(params.find_first_not_of(' '), params.size()));
        return !(params.starts_with("q=0") && params.find_first_of("123456789") == std::string_view::npos);
    }
    return false;
}

asio::awaitable<Reply<Bytes>> asset(std::shared_ptr<WebState> state, In<AssetFile> in, Caller caller) {
    const auto* file = state->assets.find(in.path.file);
    if (file == nullptr || in.path.file.ends_with(".gz")) {
        co_return core::make_error(core::Errc::kNotFound, "no such asset");
    }
    const auto* packed = state->assets.find(in.path.file + ".gz");
    const bool gzip = packed != nullptr && accepts_gzip(caller.header("Accept-Encoding").value_or(""));
    Reply<Bytes> reply(Bytes{gzip ? packed->body : file->body, file->content_type});
    if (gzip) reply.header("Content-Encoding", "gzip");
    if (packed != nullptr) reply.header("Vary", "Accept-Encoding");
    // The name carries the content's hash: a new build has new names.
    reply.header("Cache-Control", "public, max-age=31536000, immutable");
    common_headers(reply);
    co_return reply;
}

}  // namespace

std::string default_web_dir() {
    std::error_code ec;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return "web";
    return (exe.parent_path() / "web").string();
}

std::size_t register_web_routes(Router& router, OpenApi& openapi, const std::string& web_dir) {
    auto state = std::make_shared<WebState>();
    for (const char* name : {"store.html", "admin.html"}) state->pages.load_file(web_dir + "/" + name, name);
    auto loaded = state->pages.size() + state->assets.load_directory(web_dir + "/assets");
    if (state->pages.size() < 2) {
        core::log::warn("storefront not built; / and /admin/ answer 404", {{"web_dir", web_dir}});
    }

    Api api(router, openapi);
    const ErrorDoc unbuilt{404, "the apps are not built (WEB_DIR has no store.html / admin.html)"};
    api.add({.method = Verb::get, .path = "/", .id = "storefront", .rate_group = "system", .errors = {unbuilt},
             .hidden = true},
            store_page, state);
    api.add({.method = Verb::get, .path = "/admin", .id = "adminRedirect", .rate_group = "system",
             .success = Status::moved_permanently, .hidden = true},
            admin_redirect, state);
    api.add({.method = Verb::get, .path = "/admin/", .id = "adminConsole", .rate_group = "system",
             .errors = {unbuilt}, .hidden = true},
            admin_page, state);
    api.add({.method = Verb::get, .path = "/assets/{file}", .id = "webAsset", .rate_group = "system",
             .errors = {{404, "no such asset"}},
             .request_headers = {{"Accept-Encoding", "gzip: the build's compressed copy"}}, .hidden = true},
            asset, state);
    return loaded;
}

}  // namespace emporium::http
