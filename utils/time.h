// Timestamps as µs since the Unix epoch (UTC, proleptic Gregorian calendar,
// years 0001-9999): the canonical text "YYYY-MM-DDTHH:MM:SS.ffffffZ", the
// RFC 3339 parser behind timestamp values (DESIGN.md section 3), and the
// wall clock. Thread-safety: pure functions, except now_micros() reads the
// system clock.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace outpost {

inline constexpr int64_t kMinTimestampMicros = -62135596800000000;  // 0001-01-01T00:00:00Z
inline constexpr int64_t kMaxTimestampMicros = 253402300799999999;  // 9999-12-31T23:59:59.999999Z

// Current wall-clock time in µs since the epoch.
int64_t now_micros();

// Canonical text of `micros`; throws std::out_of_range outside
// [kMinTimestampMicros, kMaxTimestampMicros].
std::string format_timestamp(int64_t micros);

enum class TimestampError {
  none,
  syntax,      // not RFC 3339 date-time with offset and at most 6 fractional digits
  impossible,  // a month, day, hour, minute or second that does not exist (no leap seconds)
  offset,      // offset hours > 23 or minutes > 59
  range,       // outside years 0001-9999 once converted to UTC
};

struct ParsedTimestamp {
  int64_t micros = 0;
  TimestampError error = TimestampError::none;
  bool ok() const { return error == TimestampError::none; }
};

// Parses YYYY-MM-DD(T|t)HH:MM:SS[.f{1,6}](Z|z|±HH:MM), ASCII digits only,
// converting to UTC.
ParsedTimestamp parse_rfc3339(std::string_view text);

// Days since 1970-01-01 of a proleptic Gregorian date, and back.
int64_t days_from_civil(int64_t year, unsigned month, unsigned day);
void civil_from_days(int64_t days, int64_t& year, unsigned& month, unsigned& day);

}  // namespace outpost
