// Random UUID v4 strings (RFC 9562), used for db_id and generated record ids,
// and raw random bytes (token secrets).
// Thread-safety: safe from any thread (OpenSSL's RAND is thread-safe).
#pragma once

#include <string>
#include <string_view>

namespace outpost {

// A fresh random UUID v4 in lowercase canonical form,
// "xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx". Throws std::runtime_error if
// the OpenSSL random generator fails.
std::string uuid_v4();

// `n` bytes from OpenSSL's random generator (throws std::runtime_error if it fails).
std::string random_bytes(size_t n);

// True when `text` is a lowercase canonical UUID v4 as produced by uuid_v4().
bool is_uuid_v4(std::string_view text);

}  // namespace outpost
