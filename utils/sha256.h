// SHA-256 over OpenSSL EVP, used for revision hashes (the hot write path),
// token hashes and replication ids. The digest algorithm is fetched once per
// process and each thread reuses its own EVP_MD_CTX.
// Thread-safety: all functions may be called from any thread.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace outpost {

using Sha256Digest = std::array<unsigned char, 32>;

// The raw 32-byte digest of `data`.
Sha256Digest sha256(std::string_view data);
// The digest of `data` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);
// Lowercase hex of arbitrary bytes (two digits per byte).
std::string hex_encode(std::string_view bytes);

}  // namespace outpost
