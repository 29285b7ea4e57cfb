#include "utils/time.h"

#include <chrono>
#include <stdexcept>

namespace outpost {
namespace {

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kMicrosPerDay = 86400 * kMicrosPerSecond;

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` ASCII digits at text[pos]; false if any is not a digit.
bool digits(std::string_view text, size_t pos, size_t n, int& out) {
  if (pos + n > text.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = text[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

void put_digits(char* out, int64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

}  // namespace

// Howard Hinnant's days_from_civil / civil_from_days.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& year, unsigned& month, unsigned& day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  day = doy - (153 * mp + 2) / 5 + 1;
  month = mp < 10 ? mp + 3 : mp - 9;
  year = static_cast<int64_t>(yoe) + era * 400 + (month <= 2);
}

int64_t now_micros() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

std::string format_timestamp(int64_t micros) {
  if (micros < kMinTimestampMicros || micros > kMaxTimestampMicros) {
    throw std::out_of_range("timestamp outside years 0001-9999");
  }
  int64_t days = micros / kMicrosPerDay;
  int64_t rem = micros % kMicrosPerDay;
  if (rem < 0) {
    rem += kMicrosPerDay;
    --days;
  }
  int64_t year = 0;
  unsigned month = 0, day = 0;
  civil_from_days(days, year, month, day);
  const int64_t secs = rem / kMicrosPerSecond;
  const int64_t frac = rem % kMicrosPerSecond;
  std::string out = "0000-00-00T00:00:00.000000Z";
  put_digits(&out[0], year, 4);
  put_digits(&out[5], month, 2);
  put_digits(&out[8], day, 2);
  put_digits(&out[11], secs / 3600, 2);
  put_digits(&out[14], secs / 60 % 60, 2);
  put_digits(&out[17], secs % 60, 2);
  put_digits(&out[20], frac, 6);
  return out;
}

ParsedTimestamp parse_rfc3339(std::string_view t) {
  ParsedTimestamp r;
  r.error = TimestampError::syntax;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!digits(t, 0, 4, y) || t.size() < 20 || t[4] != '-' || !digits(t, 5, 2, mo) || t[7] != '-' ||
      !digits(t, 8, 2, d) || (t[10] != 'T' && t[10] != 't') || !digits(t, 11, 2, h) ||
      t[13] != ':' || !digits(t, 14, 2, mi) || t[16] != ':' || !digits(t, 17, 2, s)) {
    return r;
  }
  size_t pos = 19;
  int64_t micros = 0;
  if (t[pos] == '.') {
    ++pos;
    int n = 0;
    while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
      if (++n > 6) return r;
      micros = micros * 10 + (t[pos] - '0');
      ++pos;
    }
    if (n == 0) return r;
    for (; n < 6; ++n) micros *= 10;
  }
  if (pos >= t.size()) return r;
  int64_t offset_s = 0;
  bool bad_offset = false;
  if (t[pos] == 'Z' || t[pos] == 'z') {
    if (pos + 1 != t.size()) return r;
  } else if (t[pos] == '+' || t[pos] == '-') {
    int oh = 0, om = 0;
    if (pos + 6 != t.size() || !digits(t, pos + 1, 2, oh) || t[pos + 3] != ':' ||
        !digits(t, pos + 4, 2, om)) {
      return r;
    }
    bad_offset = oh > 23 || om > 59;
    offset_s = (oh * 3600 + om * 60) * (t[pos] == '+' ? 1 : -1);
  } else {
    return r;
  }
  if (y < 1 || mo < 1 || mo > 12 || d < 1 ||
      static_cast<unsigned>(d) > days_in_month(y, static_cast<unsigned>(mo)) || h > 23 || mi > 59 ||
      s > 59) {
    r.error = TimestampError::impossible;
    return r;
  }
  if (bad_offset) {
    r.error = TimestampError::offset;
    return r;
  }
  const int64_t local =
      days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * kMicrosPerDay +
      (h * 3600 + mi * 60 + s) * kMicrosPerSecond + micros;
  const int64_t utc = local - offset_s * kMicrosPerSecond;
  if (utc < kMinTimestampMicros || utc > kMaxTimestampMicros) {
    r.error = TimestampError::range;
    return r;
  }
  r.micros = utc;
  r.error = TimestampError::none;
  return r;
}

}  // namespace outpost
