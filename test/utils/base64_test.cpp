// Strict padded standard base64 (RFC 4648 section 4 and its test vectors).
#include "utils/base64.h"

#include <doctest/doctest.h>

#include <random>
#include <string>

namespace outpost {

TEST_CASE("base64 RFC 4648 vectors") {
  const std::pair<const char*, const char*> cases[] = {{"", ""},
                                                       {"f", "Zg=="},
                                                       {"fo", "Zm8="},
                                                       {"foo", "Zm9v"},
                                                       {"foob", "Zm9vYg=="},
                                                       {"fooba", "Zm9vYmE="},
                                                       {"foobar", "Zm9vYmFy"}};
  for (const auto& [raw, text] : cases) {
    INFO("raw " << raw);
    CHECK(base64_encode(raw) == text);
    CHECK(base64_decode(text) == std::optional<std::string>(raw));
  }
  CHECK(base64_encode(std::string("\x00\x01\x02\xff", 4)) == "AAEC/w==");
}

TEST_CASE("base64 decode is strict") {
  for (const char* bad : {"Zg", "Zg=", "Zg===", "Z===", "====", "Zh==", "Zm9=", "Zg==Zg==",
                          "Zm9v\n", " Zm9v", "Zm-v", "Zm_v", "Zm9v====", "=Zm9", "Zm=v"}) {
    INFO("text " << bad);
    CHECK(!base64_decode(bad).has_value());
  }
}

TEST_CASE("base64 round-trips random bytes") {
  const auto seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  for (int i = 0; i < 2000; ++i) {
    std::string raw(rng() % 64, '\0');
    for (char& c : raw) c = static_cast<char>(rng());
    const std::string text = base64_encode(raw);
    CHECK(text.size() % 4 == 0);
    CHECK(base64_decode(text) == std::optional<std::string>(raw));
  }
}

}  // namespace outpost
