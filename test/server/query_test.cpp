// Request-target decoding of the router (server/query.h).
#include "server/query.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "api/error.h"

namespace outpost::server {

TEST_CASE("decode_path splits on raw slashes, then decodes") {
  CHECK(decode_path("/v1/tables/a%2Fb") == std::vector<std::string>{"v1", "tables", "a/b"});
  CHECK(decode_path("/") == std::vector<std::string>{""});
  CHECK(decode_path("/v1/") == std::vector<std::string>{"v1", ""});
  CHECK(decode_path("/a+b") == std::vector<std::string>{"a+b"});  // '+' is '+' in a path
  CHECK_THROWS_AS(decode_path("/v1/%zz"), Error);
}

TEST_CASE("Query getters") {
  Query q("a=1&b=x+y%21&flag&no=false&n=25&a=2");
  CHECK(q.get("a") == "1");  // the first one
  CHECK(q.get_or("b") == "x y!");
  CHECK(q.get_or("missing", "fb") == "fb");
  CHECK(q.flag("flag"));
  CHECK_FALSE(q.flag("no"));
  CHECK_FALSE(q.flag("missing"));
  CHECK_THROWS_AS(q.flag("a"), Error);
  CHECK(q.count("n", 5, 100) == 25);
  CHECK(q.count("n", 5, 10) == 10);
  CHECK(q.count("missing", 50, 10) == 10);
  CHECK_THROWS_AS(q.count("b", 5, 10), Error);
  CHECK_THROWS_AS(Query("x=%2"), Error);
}

}  // namespace outpost::server
