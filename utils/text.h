// Small text helpers shared by the server, the HTTP client and the CLI:
// hex digits, percent-encoding (RFC 3986) and comma-separated lists. Pure
// functions; errors are reported as values, so that each caller words its
// own message.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace outpost {

// The value of one hex digit (0-9, a-f, A-F), or -1.
int hex_digit_value(char c);

// Every byte but the unreserved ones (A-Z a-z 0-9 - . _ ~) as %XX
// (upper-case hex).
std::string percent_encode(std::string_view text);

// Decodes %XX escapes; with `plus_is_space` (a query component) '+' is a
// space. nullopt when a '%' is not followed by two hex digits.
std::optional<std::string> try_percent_decode(std::string_view text, bool plus_is_space = false);

// The non-empty items of a comma-separated list, in order ("a,,b" gives a, b).
std::vector<std::string> split_list(std::string_view text);

}  // namespace outpost
