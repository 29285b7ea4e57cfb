// libFuzzer target: base64, timestamps and UTF-8 (utils/base64.h,
// utils/time.h, utils/utf8.h). The first input byte picks what is fuzzed:
//   0  base64: decode(encode(x)) == x; an accepted text is canonical
//      (encode(decode(t)) == t)
//   1  timestamps: an accepted RFC 3339 text is in range and its canonical
//      text parses to the same instant; µs from the input bytes format and
//      parse back; civil dates round-trip
//   2  UTF-8: utf8_invalid_offset agrees with a reference decoder written
//      here by code points; quote_for_message gives valid UTF-8 without
//      control characters
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "test/fuzz/fuzz_support.h"
#include "utils/base64.h"
#include "utils/time.h"
#include "utils/utf8.h"

namespace outpost::fuzz {
namespace {

void base64(Input& in) {
  std::string_view text = in.rest();
  std::string encoded = base64_encode(text);
  if (encoded.size() != (text.size() + 2) / 3 * 4) fail("base64_encode: length", text, encoded);
  std::optional<std::string> decoded = base64_decode(encoded);
  if (!decoded) fail("base64_decode refused base64_encode's text", encoded);
  check_equal("decode(encode(x)) != x", text, *decoded);
  // The input as base64 text.
  std::optional<std::string> raw = base64_decode(text);
  if (raw) check_equal("an accepted base64 text is not canonical", text, base64_encode(*raw));
}

void timestamps(Input& in) {
  uint8_t bytes[8] = {};
  for (uint8_t& b : bytes) b = in.byte();
  std::string_view text = in.rest();
  ParsedTimestamp p = parse_rfc3339(text);
  if (p.ok()) {
    if (p.micros < kMinTimestampMicros || p.micros > kMaxTimestampMicros) {
      fail("parse_rfc3339 accepted an instant out of range", text);
    }
    std::string canonical = format_timestamp(p.micros);
    ParsedTimestamp again = parse_rfc3339(canonical);
    if (!again.ok() || again.micros != p.micros) fail("format/parse round trip", text, canonical);
    check_equal("the canonical text is not a fixed point", canonical,
                format_timestamp(again.micros));
  }
  // µs from the first bytes, folded into the range.
  uint64_t u = 0;
  std::memcpy(&u, bytes, sizeof u);
  const uint64_t span = static_cast<uint64_t>(kMaxTimestampMicros - kMinTimestampMicros) + 1;
  int64_t micros = kMinTimestampMicros + static_cast<int64_t>(u % span);
  std::string t = format_timestamp(micros);
  ParsedTimestamp back = parse_rfc3339(t);
  if (!back.ok() || back.micros != micros) fail("parse(format(µs)) != µs", t);
  // Days of that instant, to a civil date and back.
  int64_t days = micros / 86400000000 - (micros % 86400000000 < 0 ? 1 : 0);
  int64_t year = 0;
  unsigned month = 0, day = 0;
  civil_from_days(days, year, month, day);
  if (month < 1 || month > 12 || day < 1 || day > 31 || days_from_civil(year, month, day) != days) {
    fail("civil_from_days / days_from_civil", t);
  }
}

// A reference for RFC 3629, by code points: decodes one sequence at `i`
// and returns its length, or 0 when it is not well-formed.
size_t reference_sequence(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char lead = b(i);
  size_t n = 0;
  uint32_t cp = 0;
  if (lead < 0x80) return 1;
  if ((lead & 0xe0) == 0xc0) {
    n = 2;
    cp = lead & 0x1f;
  } else if ((lead & 0xf0) == 0xe0) {
    n = 3;
    cp = lead & 0x0f;
  } else if ((lead & 0xf8) == 0xf0) {
    n = 4;
    cp = lead & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (b(i + k) & 0x3f);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

size_t reference_invalid_offset(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = reference_sequence(s, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

void utf8(Input& in) {
  size_t max_bytes = in.byte();
  std::string_view text = in.rest();
  size_t offset = utf8_invalid_offset(text);
  if (offset != reference_invalid_offset(text)) fail("utf8_invalid_offset differs", text);
  if (is_valid_utf8(text) != (offset == std::string_view::npos)) fail("is_valid_utf8");
  size_t control = control_char_offset(text);
  if (control != std::string_view::npos) {
    unsigned char c = static_cast<unsigned char>(text[control]);
    if (c >= 0x20 && c != 0x7f) fail("control_char_offset: not a control character", text);
  }
  for (size_t limit : {max_bytes, size_t{80}, text.size()}) {
    std::string quoted = quote_for_message(text, limit);
    if (!is_valid_utf8(quoted)) fail("quote_for_message: not valid UTF-8", text, quoted);
    if (control_char_offset(quoted) != std::string_view::npos) {
      fail("quote_for_message: a control character", text, quoted);
    }
    // Cut after `limit` bytes, at the end of a character (at most 4 bytes).
    bool cut = quoted.ends_with("\"...");
    if (cut ? text.size() <= limit : text.size() > limit + 3) {
      fail("quote_for_message: cut marker", text, quoted);
    }
  }
}

}  // namespace
}  // namespace outpost::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  outpost::fuzz::Input in(data, size);
  switch (in.byte() % 3) {
    case 0:
      outpost::fuzz::base64(in);
      break;
    case 1:
      outpost::fuzz::timestamps(in);
      break;
    case 2:
      outpost::fuzz::utf8(in);
      break;
  }
  return 0;
}
