#pragma once

#include "http/openapi.hpp"
#include "http/router.hpp"

#include <cstddef>
#include <string>

namespace emporium::http {

// The storefront at / and the admin console at /admin/ (docs/web.md): the files `web/build.mjs`
// wrote into `web_dir` (store.html, admin.html, assets/…), loaded into memory at start. Pages are
// `no-cache` with a Content-Security-Policy that allows nothing outside this origin; the assets
// have content-hashed names and are cached for a year. Hidden routes: not in the API document.
// Returns the number of files loaded (0: the pages answer 404 with a hint to build them).
std::size_t register_web_routes(Router& router, OpenApi& openapi, const std::string& web_dir);

// The `web` directory beside the running executable, where the build writes the apps (WEB_DIR
// overrides it).
std::string default_web_dir();

}  // namespace emporium::http
