// UTF-8 validation and the quoting of untrusted text inside error messages.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace outpost {

// Byte offset of the first byte that does not start a well-formed UTF-8
// sequence (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF),
// or std::string_view::npos when `s` is valid.
size_t utf8_invalid_offset(std::string_view s);
inline bool is_valid_utf8(std::string_view s) {
  return utf8_invalid_offset(s) == std::string_view::npos;
}

// Byte offset of the first control character (U+0000-U+001F, U+007F) in
// `s`, or std::string_view::npos when it has none.
size_t control_char_offset(std::string_view s);

// `s` in double quotes for a human-readable message: '"' and '\' escaped,
// control characters as \n, \t or \u00XX, bytes of invalid UTF-8 as \xNN;
// longer than `max_bytes` input is cut at a character boundary and marked
// with "..." after the closing quote.
std::string quote_for_message(std::string_view s, size_t max_bytes = 80);

}  // namespace outpost
