// Server URLs and the pieces of request targets the HTTP client builds:
// parsing `http(s)://host[:port][/base]`, percent-encoding of path segments
// and query values, and query strings. Pure functions, no I/O.
// Thread-safety: plain value types and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "utils/text.h"  // percent_encode

namespace outpost {

struct HttpUrl {
  bool tls = false;       // https
  std::string host;       // name or address; IPv6 without brackets
  uint16_t port = 0;      // 80 or 443 when the URL names none
  std::string base_path;  // "" or "/prefix" (no trailing '/'), prepended to every route

  // The Host header: host, bracketed when IPv6, with ":port" unless default.
  std::string host_header() const;
  // The URL back as text, without the base path's trailing slash.
  std::string str() const;
};

// True when `url` starts with http:// or https:// (case-insensitive scheme).
bool is_http_url(std::string_view url);

// Parses a server URL. Refused with Error(invalid_value) naming the URL and
// the reason: another scheme, no host, user info ("user:pass@"), a bad or
// zero port, a query or fragment.
HttpUrl parse_http_url(std::string_view url);

// percent_encode (utils/text.h) encodes every byte except the RFC 3986
// unreserved ones (A-Z a-z 0-9 - . _ ~), so the result is safe as one path
// segment or one query value whatever `text` holds ('/', '?', '%', '+',
// spaces, UTF-8).
// Its inverse; '+' stays '+'. Refused with Error(invalid_value) for a '%'
// not followed by two hex digits.
std::string percent_decode(std::string_view text);

// "?a=1&b=x%2Fy" from pairs whose value is not empty, in order; "" when none.
std::string query_string(const std::vector<std::pair<std::string_view, std::string>>& params);

}  // namespace outpost
