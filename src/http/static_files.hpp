#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace emporium::http {

struct StaticFile {
    std::string content_type;
    std::string body;
};

// Content type by file extension (unknown → application/octet-stream).
std::string_view content_type_for(std::string_view filename);

// A directory's regular files (no sub-directories) loaded into memory at startup, so serving is a
// map lookup and no request can name a path outside the directory.
class StaticFiles {
public:
    // Returns the number of files loaded; a missing directory loads nothing.
    std::size_t load_directory(const std::string& dir);
    // One file under `name`; false when it cannot be read.
    bool load_file(const std::string& path, std::string name);
    void put(std::string name, std::string content_type, std::string body);
    const StaticFile* find(std::string_view name) const;
    std::size_t size() const { return files_.size(); }

private:
    std::map<std::string, StaticFile, std::less<>> files_;
};

}  // namespace emporium::http
