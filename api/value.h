// Typed attribute values (DESIGN.md section 3). A Value holds a type and the
// canonical text of that type; it is always valid once constructed through
// parse() or one of the from_* factories. Null is not a Value: a null or
// absent attribute is simply left out of a record's Attributes.
// Thread-safety: plain value type.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace outpost {

enum class ValueType { string, int_, float_, bool_, bytes, timestamp };

// "string", "int", "float", "bool", "bytes", "timestamp".
std::string_view value_type_name(ValueType type);
// Parses a type name; nullopt for anything else (including "null").
std::optional<ValueType> value_type_from_name(std::string_view name);

class Value {
 public:
  // Validates `input` as a value of `type` and stores its canonical text.
  // Throws Error(invalid_value) naming `attribute` (when given) and saying
  // what is accepted.
  static Value parse(ValueType type, std::string_view input, std::string_view attribute = {});
  // Same, with the type given by its wire name ("int", ...). An unknown name
  // (including "null", which is not a Value) is Error(invalid_value).
  static Value parse(std::string_view type_name, std::string_view input,
                     std::string_view attribute = {});

  // Factories from native representations, as read back from SQL columns.
  static Value from_string(std::string s);  // throws invalid_value on U+0000
  static Value from_int(int64_t v);
  static Value from_float(double v);  // throws invalid_value if not finite
  static Value from_bool(bool v);
  static Value from_bytes(std::string_view raw);       // raw bytes → base64
  static Value from_timestamp_micros(int64_t micros);  // µs since Unix epoch, UTC

  ValueType type() const { return type_; }
  const std::string& text() const { return text_; }  // canonical text

  // Native views; each requires the matching type (asserts otherwise).
  int64_t as_int() const;
  double as_float() const;
  bool as_bool() const;
  std::string as_bytes() const;         // decoded raw bytes
  int64_t as_timestamp_micros() const;  // µs since Unix epoch, UTC

  friend bool operator==(const Value&, const Value&) = default;

 private:
  Value(ValueType type, std::string text) : type_(type), text_(std::move(text)) {}
  ValueType type_;
  std::string text_;
};

// A record's non-null attributes, ordered bytewise by name (std::less on
// std::string compares as unsigned char, which is the order the hash uses).
using Attributes = std::map<std::string, Value>;

}  // namespace outpost
