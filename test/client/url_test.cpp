// client/url: server URLs, percent-encoding and query strings.
#include "client/url.h"

#include <doctest/doctest.h>

#include <optional>

#include "api/error.h"

using outpost::ErrorCode;
using outpost::HttpUrl;
using outpost::parse_http_url;

namespace {

std::optional<ErrorCode> parse_error(std::string_view url) {
  try {
    parse_http_url(url);
  } catch (const outpost::Error& e) {
    return e.code();
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("url: http and https URLs with default and explicit ports") {
  HttpUrl plain = parse_http_url("http://hub.example:8080");
  CHECK_FALSE(plain.tls);
  CHECK(plain.host == "hub.example");
  CHECK(plain.port == 8080);
  CHECK(plain.base_path == "");
  CHECK(plain.host_header() == "hub.example:8080");
  CHECK(plain.str() == "http://hub.example:8080");

  HttpUrl tls = parse_http_url("HTTPS://hub.example/outpost/");
  CHECK(tls.tls);
  CHECK(tls.port == 443);
  CHECK(tls.base_path == "/outpost");
  CHECK(tls.host_header() == "hub.example");
  CHECK(tls.str() == "https://hub.example/outpost");

  CHECK(parse_http_url("http://127.0.0.1").port == 80);
  HttpUrl v6 = parse_http_url("http://[::1]:9000/");
  CHECK(v6.host == "::1");
  CHECK(v6.port == 9000);
  CHECK(v6.host_header() == "[::1]:9000");
}

TEST_CASE("url: malformed server URLs are invalid_value") {
  for (const char* bad :
       {"ftp://hub", "hub:8080", "http://", "http://:80", "http://hub:", "http://hub:0",
        "http://hub:65536", "http://hub:80x", "http://user:pw@hub", "http://hub/?q=1",
        "http://hub/#f", "http://[::1", "http://[::1]x", "http://h ub", "sqlite:x.db",
        // Brackets hold an IPv6 address and nothing else.
        "http://[[]", "http://[a]", "http://[]", "http://[::1]]", "http://[1.2.3.4]",
        "http://[fe80::1%25eth0]", "http://[::g]", "http://a]", "http://a[b", "http://h\\x",
        "http://h%41", "http://h\xC3\xA9"}) {
    INFO(bad);
    CHECK(parse_error(bad) == ErrorCode::invalid_value);
  }
  CHECK(outpost::is_http_url("http://x"));
  CHECK(outpost::is_http_url("HTTPS://x"));
  CHECK_FALSE(outpost::is_http_url("sqlite:x"));
  CHECK_FALSE(outpost::is_http_url("postgres://x"));
}

TEST_CASE("url: an accepted URL comes back the same through str()") {
  for (const char* good : {"http://hub", "https://hub.example:8443/base", "http://[::1]:9000",
                           "http://[2001:db8::ff00:42:8329]", "http://[::ffff:10.0.0.1]:80/x",
                           "HTTP://Hub_1.example", "http://10.0.0.7:8080/a/b"}) {
    INFO(good);
    const HttpUrl url = parse_http_url(good);
    const HttpUrl again = parse_http_url(url.str());
    CHECK(again.tls == url.tls);
    CHECK(again.host == url.host);
    CHECK(again.port == url.port);
    CHECK(again.base_path == url.base_path);
    CHECK(again.str() == url.str());
  }
}

TEST_CASE("url: percent-encoding keeps only unreserved bytes") {
  CHECK(outpost::percent_encode("abc-XYZ_0.9~") == "abc-XYZ_0.9~");
  CHECK(outpost::percent_encode("a/b c?d%e+f&g=h#") == "a%2Fb%20c%3Fd%25e%2Bf%26g%3Dh%23");
  CHECK(outpost::percent_encode("\xC3\xA9") == "%C3%A9");
  CHECK(outpost::percent_encode("..") == "..");
  CHECK(outpost::percent_decode("a%2Fb%20c%3F%c3%a9+") == "a/b c?\xC3\xA9+");
  const std::string all = [] {
    std::string s;
    for (int c = 1; c < 256; ++c) s += static_cast<char>(c);
    return s;
  }();
  CHECK(outpost::percent_decode(outpost::percent_encode(all)) == all);
  for (const char* bad : {"%", "%4", "%zz", "a%g1"}) {
    INFO(bad);
    CHECK_THROWS_AS(outpost::percent_decode(bad), outpost::Error);
  }
}

TEST_CASE("url: query strings skip empty values and encode the rest") {
  CHECK(outpost::query_string({}) == "");
  CHECK(outpost::query_string({{"since", ""}, {"limit", ""}}) == "");
  CHECK(outpost::query_string({{"since", "12:34/5"}, {"x", ""}, {"limit", "10"}}) ==
        "?since=12%3A34%2F5&limit=10");
}
