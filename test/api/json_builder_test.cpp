// The small JSON writer and reader for JSON outside the HTTP codec
// (api/json_builder.h).
#include "api/json_builder.h"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

namespace outpost {

TEST_CASE("JsonBuilder writes compact JSON as RapidJSON does") {
  JsonBuilder w;
  w.start_object();
  w.field("s", "a\"b\n");
  w.string("n");
  w.uint64(18446744073709551615ull);
  w.string("d");
  w.number(0.1);
  w.string("b");
  w.boolean(false);
  w.string("z");
  w.null();
  w.string("list");
  w.strings({"x", ""});
  w.end_object();
  CHECK(w.str() ==
        R"({"s":"a\"b\n","n":18446744073709551615,"d":0.1,"b":false,"z":null,"list":["x",""]})");
}

TEST_CASE("JsonDoc reads members, arrays and strings") {
  std::optional<JsonDoc> doc =
      JsonDoc::parse(R"({"a":"x","l":["p",1,"q"],"o":{"k":"v","n":2},"a":"y"})");
  REQUIRE(doc);
  JsonNode root = doc->root();
  CHECK(root.is_object());
  CHECK(root.member("a")->string() == "x");  // the first of duplicate keys
  CHECK_FALSE(root.member("missing"));
  std::vector<std::string> strings;
  for (const JsonNode& item : root.member("l")->items()) {
    if (item.is_string()) strings.push_back(item.string());
  }
  CHECK(strings == std::vector<std::string>{"p", "q"});
  auto members = root.member("o")->members();
  REQUIRE(members.size() == 2);
  CHECK(members[0].first == "k");
  CHECK(members[0].second.string() == "v");
  CHECK(members[1].second.string().empty());   // not a string
  CHECK(root.member("a")->items().empty());    // not an array
  CHECK_FALSE(root.member("a")->member("x"));  // not an object
  CHECK_FALSE(JsonDoc::parse("{\"a\":"));
  CHECK_FALSE(JsonDoc::parse(""));
}

}  // namespace outpost
