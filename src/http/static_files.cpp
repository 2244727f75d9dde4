#include "http/static_files.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace emporium::http {

std::string_view content_type_for(std::string_view filename) {
    auto dot = filename.rfind('.');
    auto ext = dot == std::string_view::npos ? std::string_view{} : filename.substr(dot + 1);
    if (ext == "html") return "text/html; charset=utf-8";
    if (ext == "js") return "text/javascript; charset=utf-8";
    if (ext == "css") return "text/css; charset=utf-8";
    if (ext == "json" || ext == "map") return "application/json";
    if (ext == "png") return "image/png";
    if (ext == "svg") return "image/svg+xml";
    if (ext == "ico") return "image/x-icon";
    if (ext == "txt" || ext == "md") return "text/plain; charset=utf-8";
    return "application/octet-stream";
}

std::size_t StaticFiles::load_directory(const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    std::size_t loaded = 0;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (!entry.is_regular_file()) continue;
        auto name = entry.path().filename().string();
        // Source maps and licence texts are not needed by the browser and are large.
        if (name.ends_with(".map") || name.ends_with(".txt") || name.ends_with(".md")) continue;
        if (load_file(entry.path().string(), name)) ++loaded;
    }
    return loaded;
}

bool StaticFiles::load_file(const std::string& path, std::string name) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::stringstream ss;
    ss << in.rdbuf();
    auto type = std::string(content_type_for(name));
    put(std::move(name), std::move(type), ss.str());
    return true;
}

void StaticFiles::put(std::string name, std::string content_type, std::string body) {
    files_[std::move(name)] = StaticFile{std::move(content_type), std::move(body)};
}

const StaticFile* StaticFiles::find(std::string_view name) const {
    auto it = files_.find(name);
    return it == files_.end() ? nullptr : &it->second;
}

}  // namespace emporium::http
