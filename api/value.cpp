// Typed values: validation and canonical texts of DESIGN.md section 3, as
// fixed by vectors/gen.py.
#include "api/value.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <string>

#include "api/error.h"
#include "utils/base64.h"
#include "utils/time.h"
#include "utils/utf8.h"

namespace outpost {
namespace {

[[noreturn]] void fail(std::string_view attribute, std::string what) {
  std::string message;
  if (!attribute.empty()) message = "attribute " + quote_for_message(attribute) + ": ";
  message += what;
  throw Error(ErrorCode::invalid_value, std::move(message));
}

std::string got(std::string_view input) { return ", got " + quote_for_message(input); }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// -?(0|[1-9][0-9]*)
size_t match_int_part(std::string_view s, size_t i) {
  if (i < s.size() && s[i] == '-') ++i;
  if (i >= s.size() || !is_digit(s[i])) return std::string_view::npos;
  if (s[i] == '0') return i + 1;
  while (i < s.size() && is_digit(s[i])) ++i;
  return i;
}

// The JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view s) {
  size_t i = match_int_part(s, 0);
  if (i == std::string_view::npos) return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (i >= s.size() || !is_digit(s[i])) return false;
    while (i < s.size() && is_digit(s[i])) ++i;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= s.size() || !is_digit(s[i])) return false;
    while (i < s.size() && is_digit(s[i])) ++i;
  }
  return i == s.size();
}

// For a JSON number that std::from_chars found out of range: true when its
// magnitude is large (overflow), false when tiny (underflow to zero).
bool is_overflow(std::string_view s) {
  size_t i = s[0] == '-' ? 1 : 0;
  // Decimal exponent of the first significant digit, relative to the text.
  int64_t lead = 0;
  bool found = false;
  int64_t int_digits = 0;
  for (; i < s.size() && is_digit(s[i]); ++i) {
    if (!found && s[i] != '0') {
      found = true;
      lead = 0;
    }
    if (found) ++int_digits;
  }
  if (found) lead = int_digits - 1;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int64_t pos = 0;
    for (; i < s.size() && is_digit(s[i]); ++i) {
      ++pos;
      if (!found && s[i] != '0') {
        found = true;
        lead = -pos;
      }
    }
  }
  int64_t exp = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool neg = false;
    if (s[i] == '+' || s[i] == '-') neg = s[i++] == '-';
    for (; i < s.size(); ++i) {
      if (exp < 1000000000) exp = exp * 10 + (s[i] - '0');
    }
    if (neg) exp = -exp;
  }
  return found && lead + exp >= 0;
}

// ECMAScript Number::toString for a finite double (RFC 8785), as
// es_number_to_string in gen.py.
std::string es_number_to_string(double x) {
  if (x == 0) return "0";  // also -0
  std::string out;
  if (x < 0) {
    out += '-';
    x = -x;
  }
  // Shortest round-trip digits, in scientific form "d[.ddd]e[+-]XX".
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
  const std::string_view sci(buf, static_cast<size_t>(r.ptr - buf));
  const size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digits += c;
  }
  int exp10 = 0;
  std::string_view e_text = sci.substr(e_pos + 1);
  if (!e_text.empty() && e_text[0] == '+') e_text.remove_prefix(1);
  std::from_chars(e_text.data(), e_text.data() + e_text.size(), exp10);
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  const int k = static_cast<int>(digits.size());
  const int n = exp10 + 1;  // value = 0.digits * 10^n
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, 0, static_cast<size_t>(n));
    out += '.';
    out.append(digits, static_cast<size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-n), '0');
    out += digits;
  } else {
    const int e = n - 1;
    out += digits[0];
    if (k > 1) {
      out += '.';
      out.append(digits, 1);
    }
    out += 'e';
    out += e >= 0 ? '+' : '-';
    out += std::to_string(e >= 0 ? e : -e);
  }
  return out;
}

void check_string(std::string_view s, std::string_view attribute) {
  if (const size_t nul = s.find('\0'); nul != std::string_view::npos) {
    fail(attribute, "string may not contain U+0000 (found at byte " + std::to_string(nul) + ")");
  }
  if (const size_t bad = utf8_invalid_offset(s); bad != std::string_view::npos) {
    fail(attribute, "string must be valid UTF-8 (invalid byte at offset " + std::to_string(bad) +
                        ")" + got(s));
  }
}

std::string canonical_int(std::string_view s, std::string_view attribute) {
  if (match_int_part(s, 0) != s.size() || s == "-0") {
    fail(attribute, "int must be a canonical decimal integer like 42 or -7" + got(s));
  }
  int64_t v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) {
    fail(attribute,
         "int must fit in 64 bits (-9223372036854775808 to 9223372036854775807)" + got(s));
  }
  return std::string(s);
}

std::string canonical_float(std::string_view s, std::string_view attribute) {
  if (!is_json_number(s)) {
    fail(attribute,
         "float must be a decimal number in JSON syntax like 0.5, -2 or 1.5e-3 "
         "(no NaN, Infinity, hex, leading '+' or '.')" +
             got(s));
  }
  double v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec == std::errc::result_out_of_range) {
    if (is_overflow(s)) {
      fail(attribute,
           "float out of range: the magnitude must be at most 1.7976931348623157e308" + got(s));
    }
    return "0";  // underflows to zero, as IEEE rounding does
  }
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(v)) {
    fail(attribute, "float out of range: must be a finite double" + got(s));
  }
  return es_number_to_string(v);
}

std::string canonical_bytes_text(std::string_view s, std::string_view attribute) {
  const auto raw = base64_decode(s);
  if (!raw || base64_encode(*raw) != s) {
    fail(attribute,
         "bytes must be padded standard base64 (RFC 4648 section 4: A-Z a-z 0-9 + /, '=' padding, "
         "no line breaks, unused bits zero) like \"AAEC/w==\"" +
             got(s));
  }
  return std::string(s);
}

std::string canonical_timestamp(std::string_view s, std::string_view attribute) {
  const ParsedTimestamp p = parse_rfc3339(s);
  switch (p.error) {
    case TimestampError::none:
      return format_timestamp(p.micros);
    case TimestampError::syntax:
      fail(attribute,
           "timestamp must be an RFC 3339 date-time with an offset and at most 6 fractional "
           "digits, like 2026-11-22T10:00:00Z or 2026-11-22T12:00:00.5+02:00" +
               got(s));
    case TimestampError::impossible:
      fail(attribute,
           "timestamp has an impossible date or time (months 01-12, days of that month, hours "
           "00-23, minutes and seconds 00-59, years from 0001)" +
               got(s));
    case TimestampError::offset:
      fail(attribute, "timestamp offset must be at most 23:59" + got(s));
    case TimestampError::range:
      fail(attribute,
           "timestamp out of range: must fall within years 0001-9999 once converted "
           "to UTC" +
               got(s));
  }
  fail(attribute, "timestamp is not valid" + got(s));
}

[[noreturn]] void wrong_type(ValueType have, std::string_view want) {
  throw Error(ErrorCode::internal, "Value::as_" + std::string(want) + " called on a " +
                                       std::string(value_type_name(have)) + " value");
}

}  // namespace

std::string_view value_type_name(ValueType type) {
  switch (type) {
    case ValueType::string:
      return "string";
    case ValueType::int_:
      return "int";
    case ValueType::float_:
      return "float";
    case ValueType::bool_:
      return "bool";
    case ValueType::bytes:
      return "bytes";
    case ValueType::timestamp:
      return "timestamp";
  }
  return "?";
}

std::optional<ValueType> value_type_from_name(std::string_view name) {
  if (name == "string") return ValueType::string;
  if (name == "int") return ValueType::int_;
  if (name == "float") return ValueType::float_;
  if (name == "bool") return ValueType::bool_;
  if (name == "bytes") return ValueType::bytes;
  if (name == "timestamp") return ValueType::timestamp;
  return std::nullopt;
}

Value Value::parse(ValueType type, std::string_view input, std::string_view attribute) {
  switch (type) {
    case ValueType::string:
      check_string(input, attribute);
      return Value(type, std::string(input));
    case ValueType::int_:
      return Value(type, canonical_int(input, attribute));
    case ValueType::float_:
      return Value(type, canonical_float(input, attribute));
    case ValueType::bool_:
      if (input != "true" && input != "false") {
        fail(attribute, "bool must be true or false (lowercase)" + got(input));
      }
      return Value(type, std::string(input));
    case ValueType::bytes:
      return Value(type, canonical_bytes_text(input, attribute));
    case ValueType::timestamp:
      return Value(type, canonical_timestamp(input, attribute));
  }
  fail(attribute, "unknown value type");
}

Value Value::parse(std::string_view type_name, std::string_view input, std::string_view attribute) {
  const auto type = value_type_from_name(type_name);
  if (!type) {
    fail(attribute, "unknown type " + quote_for_message(type_name) +
                        "; the types are string, int, float, bool, bytes and timestamp");
  }
  return parse(*type, input, attribute);
}

Value Value::from_string(std::string s) {
  check_string(s, {});
  return Value(ValueType::string, std::move(s));
}

Value Value::from_int(int64_t v) { return Value(ValueType::int_, std::to_string(v)); }

Value Value::from_float(double v) {
  if (!std::isfinite(v)) fail({}, "float must be finite (no NaN or Infinity)");
  return Value(ValueType::float_, es_number_to_string(v));
}

Value Value::from_bool(bool v) { return Value(ValueType::bool_, v ? "true" : "false"); }

Value Value::from_bytes(std::string_view raw) {
  return Value(ValueType::bytes, base64_encode(raw));
}

Value Value::from_timestamp_micros(int64_t micros) {
  if (micros < kMinTimestampMicros || micros > kMaxTimestampMicros) {
    fail({}, "timestamp out of range: " + std::to_string(micros) +
                 " µs since the epoch is outside years 0001-9999");
  }
  return Value(ValueType::timestamp, format_timestamp(micros));
}

int64_t Value::as_int() const {
  if (type_ != ValueType::int_) wrong_type(type_, "int");
  int64_t v = 0;
  std::from_chars(text_.data(), text_.data() + text_.size(), v);
  return v;
}

double Value::as_float() const {
  if (type_ != ValueType::float_) wrong_type(type_, "float");
  double v = 0;
  std::from_chars(text_.data(), text_.data() + text_.size(), v);
  return v;
}

bool Value::as_bool() const {
  if (type_ != ValueType::bool_) wrong_type(type_, "bool");
  return text_ == "true";
}

std::string Value::as_bytes() const {
  if (type_ != ValueType::bytes) wrong_type(type_, "bytes");
  return base64_decode(text_).value_or(std::string());
}

int64_t Value::as_timestamp_micros() const {
  if (type_ != ValueType::timestamp) wrong_type(type_, "timestamp_micros");
  return parse_rfc3339(text_).micros;
}

}  // namespace outpost
