#include "utils/base64.h"

#include <array>
#include <cstdint>

namespace outpost {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> make_table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr std::array<int8_t, 256> kDecode = make_table();

}  // namespace

std::string base64_encode(std::string_view raw) {
  std::string out;
  out.reserve((raw.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= raw.size(); i += 3) {
    uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(raw[i])) << 16 |
                 static_cast<uint32_t>(static_cast<unsigned char>(raw[i + 1])) << 8 |
                 static_cast<uint32_t>(static_cast<unsigned char>(raw[i + 2]));
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  size_t rest = raw.size() - i;
  if (rest == 1) {
    uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(raw[i])) << 16;
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(raw[i])) << 16 |
                 static_cast<uint32_t>(static_cast<unsigned char>(raw[i + 1])) << 8;
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      char c = text[i + j];
      if (c == '=') {
        // Padding only in the last quantum, only in its last two places, and
        // nothing but padding after it.
        if (!last || j < 2) return std::nullopt;
        ++pad;
        v[j] = 0;
        continue;
      }
      if (pad > 0) return std::nullopt;
      v[j] = kDecode[static_cast<unsigned char>(c)];
      if (v[j] < 0) return std::nullopt;
    }
    uint32_t n = static_cast<uint32_t>(v[0]) << 18 | static_cast<uint32_t>(v[1]) << 12 |
                 static_cast<uint32_t>(v[2]) << 6 | static_cast<uint32_t>(v[3]);
    out += static_cast<char>(n >> 16);
    if (pad == 2) {
      if ((n & 0xffff) != 0) return std::nullopt;  // non-zero unused bits
    } else if (pad == 1) {
      out += static_cast<char>((n >> 8) & 0xff);
      if ((n & 0xff) != 0) return std::nullopt;
    } else {
      out += static_cast<char>((n >> 8) & 0xff);
      out += static_cast<char>(n & 0xff);
    }
  }
  return out;
}

}  // namespace outpost
