// Standard padded base64 (RFC 4648 section 4), the wire form of `bytes`
// values. Decoding is strict: only the standard alphabet, length a multiple
// of 4, padding only at the end, and unused trailing bits zero, so every
// accepted text re-encodes to itself.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace outpost {

std::string base64_encode(std::string_view raw);
// nullopt when `text` is not canonical padded standard base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace outpost
