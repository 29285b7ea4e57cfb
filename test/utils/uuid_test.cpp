// Random UUID v4 strings.
#include "utils/uuid.h"

#include <doctest/doctest.h>

#include <set>
#include <string>

namespace outpost {

TEST_CASE("uuid_v4 format and uniqueness") {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string u = uuid_v4();
    INFO("uuid " << u);
    REQUIRE(u.size() == 36);
    CHECK(u[8] == '-');
    CHECK(u[13] == '-');
    CHECK(u[18] == '-');
    CHECK(u[23] == '-');
    CHECK(u[14] == '4');
    CHECK(std::string("89ab").find(u[19]) != std::string::npos);
    CHECK(is_uuid_v4(u));
    seen.insert(u);
  }
  CHECK(seen.size() == 1000);
  CHECK(!is_uuid_v4("00000000-0000-0000-0000-000000000000"));
  CHECK(!is_uuid_v4("0123ABCD-0000-4000-8000-000000000000"));
  CHECK(!is_uuid_v4("01234567-0000-4000-8000-00000000000"));
  CHECK(is_uuid_v4("01234567-89ab-4def-a000-000000000000"));
}

}  // namespace outpost
