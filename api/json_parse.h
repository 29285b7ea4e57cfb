// Internal to the JSON codec (api/json_*.cpp; nothing else includes
// RapidJSON): parsing a request or response body into a RapidJSON DOM
// through a depth-counting SAX handler with the iterative parser, so that
// neither parsing nor a hostile nesting depth can exhaust the stack, and
// refusing strings that are not UTF-8.
#pragma once

#include <rapidjson/document.h>

#include <string_view>

#include "api/limits.h"

namespace outpost::json_detail {

// Fills `doc` from `text`; throws Error(invalid_json) naming the offset and
// the reason (malformed, nested deeper than limits.max_depth, an unpaired
// surrogate escape, a NUL byte).
void parse(std::string_view text, const JsonLimits& limits, rapidjson::Document& doc);

// A string value's text (the value must be a string).
inline std::string_view view(const rapidjson::Value& v) {
  return {v.GetString(), v.GetStringLength()};
}

// "null", "a boolean", "an object", "an array", "a string" or "a number",
// for messages about a value of the wrong type.
const char* json_type_name(const rapidjson::Value& v);

}  // namespace outpost::json_detail
