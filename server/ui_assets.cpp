#include "server/ui_assets.h"

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace outpost::server {

namespace {

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 100 || name.front() == '.') return false;
  for (char ch : name) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

// FNV-1a: the validator only has to change when the body does.
std::string etag_of(std::string_view body) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char ch : body) {
    hash ^= ch;
    hash *= 1099511628211ull;
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(hash));
  return buf;
}

}  // namespace

std::string_view ui_content_type(std::string_view name) {
  auto ends_with = [&](std::string_view suffix) { return name.ends_with(suffix); };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".svg")) return "image/svg+xml";
  if (ends_with(".png")) return "image/png";
  if (ends_with(".ico")) return "image/x-icon";
  if (ends_with(".json")) return "application/json";
  return "application/octet-stream";
}

std::optional<UiFile> find_ui_file(std::string_view name, const std::string& dir) {
  if (!valid_name(name)) return std::nullopt;
  UiFile file;
  if (!dir.empty()) {
    std::ifstream in(dir + "/" + std::string(name), std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    file.body = std::move(text).str();
  } else {
    const EmbeddedFile* found = nullptr;
    for (size_t i = 0; i < kUiFileCount; ++i) {
      if (kUiFiles[i].name == name) found = &kUiFiles[i];
    }
    if (!found) return std::nullopt;
    file.body = std::string(found->body);
  }
  file.content_type = ui_content_type(name);
  file.etag = etag_of(file.body);
  return file;
}

}  // namespace outpost::server
