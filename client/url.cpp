#include "client/url.h"

#include <arpa/inet.h>

#include <charconv>

#include "api/error.h"

namespace outpost {

namespace {

bool iequals_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

[[noreturn]] void bad_url(std::string_view url, std::string_view why) {
  throw Error(ErrorCode::invalid_value, "server URL '" + std::string(url) +
                                            "': " + std::string(why) +
                                            " (expected http://HOST[:PORT][/PATH] or https://...)");
}

}  // namespace

std::string HttpUrl::host_header() const {
  std::string text = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != (tls ? 443 : 80)) text += ":" + std::to_string(port);
  return text;
}

std::string HttpUrl::str() const {
  return std::string(tls ? "https://" : "http://") + host_header() + base_path;
}

bool is_http_url(std::string_view url) {
  return iequals_prefix(url, "http://") || iequals_prefix(url, "https://");
}

HttpUrl parse_http_url(std::string_view url) {
  HttpUrl result;
  std::string_view rest;
  if (iequals_prefix(url, "https://")) {
    result.tls = true;
    rest = url.substr(8);
  } else if (iequals_prefix(url, "http://")) {
    rest = url.substr(7);
  } else {
    bad_url(url, "not an http:// or https:// URL");
  }
  if (rest.find_first_of("?#") != std::string_view::npos) bad_url(url, "a query or fragment");
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    bad_url(url, "user info in the URL is not supported; give the token with --token");
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) bad_url(url, "an unclosed '[' in the host");
    result.host = std::string(authority.substr(1, close - 1));
    // Only an IPv6 address goes in brackets (no zone: '%' is not a host
    // character here), and it must be one: "[[]" or "[a]" is no host.
    in6_addr address{};
    if (result.host.find('%') != std::string::npos) {
      bad_url(url, "an IPv6 zone ('%') is not supported; give the address without it");
    }
    if (inet_pton(AF_INET6, result.host.c_str(), &address) != 1) {
      bad_url(url, "'[" + result.host + "]' is not an IPv6 address");
    }
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') bad_url(url, "unexpected text after the IPv6 address");
      port_text = after.substr(1);
      if (port_text.empty()) bad_url(url, "an empty port");
    }
  } else {
    const size_t colon = authority.find(':');
    result.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) bad_url(url, "an empty port");
    }
  }
  if (result.host.empty()) bad_url(url, "no host");
  if (result.host.find(':') == std::string::npos) {
    // A name or an IPv4 address: letters, digits, '-', '.' and '_' (ASCII;
    // an internationalised name is given in its xn-- form).
    for (char c : result.host) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_';
      if (!ok) bad_url(url, "the host may hold only letters, digits, '-', '.' and '_'");
    }
  }
  result.port = result.tls ? 443 : 80;
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 ||
        value > 65535) {
      bad_url(url, "the port must be a number from 1 to 65535");
    }
    result.port = static_cast<uint16_t>(value);
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  for (char c : path) {
    if (static_cast<unsigned char>(c) <= ' ')
      bad_url(url, "a path with a space or control character");
  }
  result.base_path = std::string(path);
  return result;
}

std::string percent_decode(std::string_view text) {
  std::optional<std::string> decoded = try_percent_decode(text);
  if (!decoded) {
    throw Error(ErrorCode::invalid_value,
                "'" + std::string(text) + "': '%' must be followed by two hex digits");
  }
  return std::move(*decoded);
}

std::string query_string(const std::vector<std::pair<std::string_view, std::string>>& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    if (value.empty()) continue;
    out += out.empty() ? '?' : '&';
    out += percent_encode(key);
    out += '=';
    out += percent_encode(value);
  }
  return out;
}

}  // namespace outpost
