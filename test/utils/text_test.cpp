// The shared text helpers (utils/text.h).
#include "utils/text.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace outpost {

TEST_CASE("hex_digit_value") {
  CHECK(hex_digit_value('0') == 0);
  CHECK(hex_digit_value('9') == 9);
  CHECK(hex_digit_value('a') == 10);
  CHECK(hex_digit_value('F') == 15);
  CHECK(hex_digit_value('g') == -1);
  CHECK(hex_digit_value('%') == -1);
}

TEST_CASE("percent encoding round trip and malformed escapes") {
  CHECK(percent_encode("a/b c") == "a%2Fb%20c");
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  CHECK(try_percent_decode(percent_encode(all)) == all);
  CHECK(try_percent_decode("a+b") == "a+b");
  CHECK(try_percent_decode("a+b", true) == "a b");
  CHECK(try_percent_decode("%41%7a") == "Az");
  for (const char* bad : {"%", "%4", "%zz", "a%g0", "%%41"}) {
    INFO(bad);
    CHECK_FALSE(try_percent_decode(bad).has_value());
  }
}

TEST_CASE("split_list drops empty items") {
  CHECK(split_list("") == std::vector<std::string>{});
  CHECK(split_list("a") == std::vector<std::string>{"a"});
  CHECK(split_list(",a,,b,") == std::vector<std::string>{"a", "b"});
}

}  // namespace outpost
