// The web console's files (server/ui/; docs/operations.md#the-console),
// served by the router at /ui/. They are compiled into the binary
// (cmake/embed-ui.cmake writes the table below), so a hub that is offline
// serves its console with nothing beside its binary; a development server
// may read them from a directory instead, so a page edit needs no rebuild.
// Thread-safety: pure functions over constant data (and the file system).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace outpost::server {

// One compiled-in file; the generated table ends with an empty name.
struct EmbeddedFile {
  std::string_view name;
  std::string_view body;
};
extern const EmbeddedFile kUiFiles[];
extern const size_t kUiFileCount;

struct UiFile {
  std::string body;
  std::string_view content_type;
  std::string etag;  // a quoted strong validator of the body
};

// The console file `name` ("index.html", "console.js", ...): read from `dir`
// when it is not empty, else the compiled-in copy. nullopt when there is no
// such file or the name is not one a console file may have (letters,
// digits, '.', '_', '-', not starting with '.'), so no name ever reaches
// outside `dir`.
std::optional<UiFile> find_ui_file(std::string_view name, const std::string& dir);

// The Content-Type for a console file name, by its extension.
std::string_view ui_content_type(std::string_view name);

// The headers every console answer carries: a Content-Security-Policy
// that allows only this origin's files (no inline script or style), and
// no framing.
inline constexpr std::string_view kUiContentSecurityPolicy =
    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'";

}  // namespace outpost::server
