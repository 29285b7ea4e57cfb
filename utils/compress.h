// HTTP body content codings (RFC 9110 section 8.4): zstd (libzstd, RFC 8878)
// and gzip (zlib), streaming both ways. Decoding is bounded: it fails as soon
// as the output would pass a given limit, and never holds more than that
// limit (plus one fixed 64 KiB step buffer and the codec's own state, a zstd
// window of at most 8 MiB, RFC 9659) however small the input, so a
// compressed "bomb" costs the reader no more than an honest body would.
// Also: parsing Accept-Encoding and choosing the coding to answer with.
// Thread-safety: Encoder and Decoder objects belong to one thread at a time;
// the free functions may be called from any thread.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace outpost {

enum class Codec { identity, gzip, zstd };

// Bodies smaller than this are sent as they are: below it the frame and the
// two extra header fields (about 50 bytes) eat most of what compression
// saves (docs/dependencies.md has the figures).
constexpr size_t kMinCompressBytes = 512;

// "identity", "gzip" or "zstd": the Content-Encoding token.
std::string_view codec_name(Codec codec);

// The codec a Content-Encoding value names (case-insensitive, surrounding
// spaces ignored; "x-gzip" is gzip, "" and "identity" are identity), or
// nullopt for anything else (several codings stacked included).
std::optional<Codec> codec_from_name(std::string_view content_encoding);

// The coding to answer a request carrying this Accept-Encoding value with:
// zstd or gzip, whichever has the higher q-value (> 0; ties go to zstd), "*"
// standing for a coding not listed; identity when neither is acceptable or
// when "identity" itself is listed with a higher q. Identity is always the
// fallback (a server may send it even where excluded; RFC 9110 12.5.3). An
// element with an unreadable q-value is ignored; an empty value gives
// identity.
Codec choose_codec(std::string_view accept_encoding);

// Why a body could not be decoded.
class DecodeError : public std::runtime_error {
 public:
  enum class Kind {
    too_large,  // the output would pass the limit
    corrupt,    // not valid data for the codec, or cut short
  };
  DecodeError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

// Compresses a body piece by piece. Level 0 picks the default: zstd 3,
// gzip 6 (docs/dependencies.md). Identity copies. Throws
// std::runtime_error only when the library fails (out of memory).
class Encoder {
 public:
  explicit Encoder(Codec codec, int level = 0);
  ~Encoder();
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  // Appends the compressed form of `in` (possibly nothing yet) to `out`.
  void write(std::string_view in, std::string& out);
  // Ends the stream: appends what is left. The encoder is done.
  void finish(std::string& out);

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Decompresses a body piece by piece into at most `limit` bytes in total.
// Throws DecodeError.
class Decoder {
 public:
  Decoder(Codec codec, size_t limit);
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Appends the bytes `in` decodes to (possibly none yet) to `out`. `out`'s
  // capacity is grown by this call to no more than its size on entry plus
  // what is left of the limit.
  void write(std::string_view in, std::string& out);
  // The input is over: throws DecodeError(corrupt) when the stream was cut
  // short. An input of no bytes at all decodes to an empty body.
  void finish();
  // Bytes produced so far.
  size_t produced() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// One-shot forms of the above.
std::string compress(Codec codec, std::string_view body, int level = 0);
std::string decompress(Codec codec, std::string_view body, size_t limit);

}  // namespace outpost
