// Timestamp formatting and the RFC 3339 parser.
#include "utils/time.h"

#include <doctest/doctest.h>

#include <random>
#include <stdexcept>

namespace outpost {

TEST_CASE("format_timestamp") {
  CHECK(format_timestamp(0) == "1970-01-01T00:00:00.000000Z");
  CHECK(format_timestamp(1) == "1970-01-01T00:00:00.000001Z");
  CHECK(format_timestamp(-1) == "1969-12-31T23:59:59.999999Z");
  CHECK(format_timestamp(1795341600000000) == "2026-11-22T10:00:00.000000Z");
  CHECK(format_timestamp(kMinTimestampMicros) == "0001-01-01T00:00:00.000000Z");
  CHECK(format_timestamp(kMaxTimestampMicros) == "9999-12-31T23:59:59.999999Z");
  CHECK_THROWS_AS(format_timestamp(kMinTimestampMicros - 1), std::out_of_range);
  CHECK_THROWS_AS(format_timestamp(kMaxTimestampMicros + 1), std::out_of_range);
}

TEST_CASE("parse_rfc3339") {
  CHECK(parse_rfc3339("2026-11-22T10:00:00Z").micros == 1795341600000000);
  CHECK(parse_rfc3339("2026-11-22t12:00:00.5+02:00").micros == 1795341600500000);
  CHECK(parse_rfc3339("1970-01-01T00:00:00.000001z").micros == 1);
  CHECK(parse_rfc3339("1969-12-31T19:00:00-05:00").micros == 0);
  CHECK(parse_rfc3339("0001-01-01T00:00:00Z").micros == kMinTimestampMicros);
  CHECK(parse_rfc3339("9999-12-31T23:59:59.999999Z").micros == kMaxTimestampMicros);

  struct Bad {
    const char* text;
    TimestampError error;
  };
  for (const Bad& b : {Bad{"", TimestampError::syntax},
                       Bad{"2026-11-22", TimestampError::syntax},
                       Bad{"2026-11-22T10:00:00", TimestampError::syntax},
                       Bad{"2026-11-22 10:00:00Z", TimestampError::syntax},
                       Bad{"2026-11-22T10:00:00.Z", TimestampError::syntax},
                       Bad{"2026-11-22T10:00:00.1234567Z", TimestampError::syntax},
                       Bad{"2026-11-22T10:00:00+0200", TimestampError::syntax},
                       Bad{"2026-11-22T10:00:00+02:00 ", TimestampError::syntax},
                       Bad{"2026-11-22T10:00:00ZZ", TimestampError::syntax},
                       Bad{"+2026-11-22T10:00:00Z", TimestampError::syntax},
                       Bad{"2026-1-22T10:00:00Z", TimestampError::syntax},
                       Bad{"2026-13-01T00:00:00Z", TimestampError::impossible},
                       Bad{"2026-00-01T00:00:00Z", TimestampError::impossible},
                       Bad{"2026-04-31T00:00:00Z", TimestampError::impossible},
                       Bad{"2023-02-29T00:00:00Z", TimestampError::impossible},
                       Bad{"2026-11-22T24:00:00Z", TimestampError::impossible},
                       Bad{"2026-11-22T10:60:00Z", TimestampError::impossible},
                       Bad{"2026-11-22T10:00:60Z", TimestampError::impossible},
                       Bad{"0000-01-01T00:00:00Z", TimestampError::impossible},
                       Bad{"2026-11-22T10:00:00+24:00", TimestampError::offset},
                       Bad{"2026-11-22T10:00:00+02:60", TimestampError::offset},
                       Bad{"0001-01-01T00:00:00+01:00", TimestampError::range},
                       Bad{"9999-12-31T23:59:59-01:00", TimestampError::range}}) {
    INFO("text " << b.text);
    CHECK(parse_rfc3339(b.text).error == b.error);
  }
}

TEST_CASE("civil dates round-trip") {
  const auto seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> days(-719162, 2932896);
  for (int i = 0; i < 10000; ++i) {
    const int64_t d = days(rng);
    int64_t y = 0;
    unsigned m = 0, day = 0;
    civil_from_days(d, y, m, day);
    CHECK(days_from_civil(y, m, day) == d);
  }
  CHECK(days_from_civil(1970, 1, 1) == 0);
  CHECK(days_from_civil(1, 1, 1) == -719162);
  CHECK(days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28) == 2);  // leap
  CHECK(days_from_civil(1900, 3, 1) - days_from_civil(1900, 2, 28) == 1);  // not leap
}

TEST_CASE("now_micros is plausible") {
  const int64_t now = now_micros();
  CHECK(now > 1700000000000000);  // after 2023
  CHECK(now < kMaxTimestampMicros);
}

}  // namespace outpost
