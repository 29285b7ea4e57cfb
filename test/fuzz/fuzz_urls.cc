// libFuzzer target: server URLs (client/url.h) and database URLs (the
// parsing behind engine/open.h's open_engine: is_postgres_url and
// pg_conninfo_from_url). The first input byte picks what is fuzzed:
//   0  parse_http_url: an accepted URL's str() parses again to the same
//      parts, and str() is a fixed point; refusals are invalid_value
//   1  percent_decode(percent_encode(x)) == x; percent_encode's output is
//      unreserved characters and %XX only; query_string does not crash
//   2  database URLs: pg_conninfo_from_url accepts or refuses with
//      unavailable, never repeating a URL password in its message; an
//      accepted key=value text is accepted again as "postgres:" + it
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/error.h"
#include "client/url.h"
#include "engine/open.h"
#include "engine/postgres/pg_connection.h"
#include "test/fuzz/fuzz_support.h"

namespace outpost::fuzz {
namespace {

std::string parts(const HttpUrl& u) {
  return std::string(u.tls ? "https" : "http") + " host=[" + u.host +
         "] port=" + std::to_string(u.port) + " base_path=[" + u.base_path + "]";
}

void http_urls(Input& in) {
  std::string_view text = in.rest();
  auto scheme = [&](std::string_view prefix) {
    if (text.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i) {
      char c = text[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != prefix[i]) return false;
    }
    return true;
  };
  if (is_http_url(text) != (scheme("http://") || scheme("https://"))) fail("is_http_url", text);
  std::optional<HttpUrl> url;
  try {
    url = parse_http_url(text);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::invalid_value) fail("parse_http_url: not invalid_value", text);
    return;
  }
  if (!is_http_url(text)) fail("parse_http_url accepted what is_http_url refuses", text);
  if (url->host.empty() || url->port == 0) fail("parse_http_url: no host or port", text);
  // Only an IPv6 address goes in brackets, and str() brackets exactly the
  // hosts holding ':'.
  std::string_view authority = text.substr(text.find("://") + 3);
  bool bracketed = authority.starts_with('[');
  if (bracketed != (url->host.find(':') != std::string::npos)) {
    fail("parse_http_url: a bracketed host that is no IPv6 address, or the reverse", text,
         parts(*url));
  }
  std::string shown = url->str();
  HttpUrl again;
  try {
    again = parse_http_url(shown);
  } catch (const Error& e) {
    fail(std::string("str() of an accepted URL is refused: ") + e.what(), text, shown);
  }
  check_equal("parse(str(parse(x))) != parse(x)", parts(*url), parts(again));
  check_equal("str() is not a fixed point", shown, again.str());
  (void)url->host_header();
}

void percent(Input& in) {
  std::string_view text = in.rest();
  std::string encoded = percent_encode(text);
  for (size_t i = 0; i < encoded.size(); ++i) {
    char c = encoded[i];
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (!unreserved && c != '%') fail("percent_encode: a reserved character", text, encoded);
  }
  check_equal("percent_decode(percent_encode(x)) != x", text, percent_decode(encoded));
  try {
    (void)percent_decode(text);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::invalid_value) fail("percent_decode: not invalid_value", text);
  }
  std::string value(text);
  (void)query_string({{"a", value}, {"since", ""}, {text, "x"}});
}

// The password a postgres:// URL carries in its user info, if any: in the
// authority (up to the first '/', '?' or '#'), between ':' and the last '@'.
std::string uri_password(std::string_view url) {
  if (!url.starts_with("postgres://") && !url.starts_with("postgresql://")) return "";
  size_t start = url.find("://");
  std::string_view authority = url.substr(start + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return "";
  std::string_view user_info = authority.substr(0, at);
  size_t colon = user_info.find(':');
  if (colon == std::string_view::npos) return "";
  return std::string(user_info.substr(colon + 1));
}

// Whether `password` is in pg_conninfo_from_url's message for `url` with
// the password masked too: then the message's own wording (or what libpq
// quotes of the URL before a NUL byte) holds it, not the password.
bool in_fixed_wording(const std::string& url, const std::string& password) {
  std::string masked = url;
  const size_t at = masked.find(password);
  masked.replace(at, password.size(), std::string(password.size(), '#'));
  try {
    (void)pg_conninfo_from_url(masked);
  } catch (const Error& e) {
    return std::string_view(e.what()).find(password) != std::string_view::npos;
  }
  return false;
}

void database_urls(Input& in) {
  std::string text(in.rest());
  bool postgres = is_postgres_url(text);
  if (postgres != (text.starts_with("postgres:") || text.starts_with("postgresql:"))) {
    fail("is_postgres_url", text);
  }
  std::string conninfo;
  try {
    conninfo = pg_conninfo_from_url(text);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::unavailable) fail("pg_conninfo_from_url: not unavailable", text);
    std::string password = uri_password(text);
    // Short ones could be any word of the message, and text found
    // elsewhere in the URL too may be quoted from there.
    bool once = text.find(password) == text.rfind(password);
    if (password.size() >= 8 && once &&
        std::string_view(e.what()).find(password) != std::string::npos &&
        !in_fixed_wording(text, password)) {
      fail("pg_conninfo_from_url: the message repeats the password", text, e.what());
    }
    return;
  }
  if (!postgres) fail("pg_conninfo_from_url accepted a non-PostgreSQL URL", text);
  if (conninfo.empty()) return;  // "postgres:": the PG* variables
  // A URI comes back as it is; a key=value conninfo is one again after
  // "postgres:".
  bool uri = text.starts_with("postgres://") || text.starts_with("postgresql://");
  if (uri) check_equal("a postgres:// URL changed", text, conninfo);
  std::string url = uri ? conninfo : "postgres:" + conninfo;
  try {
    check_equal("pg_conninfo_from_url is not idempotent", conninfo, pg_conninfo_from_url(url));
  } catch (const Error& e) {
    fail(std::string("an accepted conninfo is refused again: ") + e.what(), text, url);
  }
}

}  // namespace
}  // namespace outpost::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  outpost::fuzz::Input in(data, size);
  switch (in.byte() % 3) {
    case 0:
      outpost::fuzz::http_urls(in);
      break;
    case 1:
      outpost::fuzz::percent(in);
      break;
    case 2:
      outpost::fuzz::database_urls(in);
      break;
  }
  return 0;
}
