// The body codecs: round trips in one piece and in small pieces, the
// Accept-Encoding choice, cut-short and corrupt input, and zip bombs decoded
// under a limit that they must not push memory past.
#include "utils/compress.h"

#include <doctest/doctest.h>

#include <random>
#include <string>

namespace outpost {
namespace {

constexpr size_t kMiB = 1024 * 1024;

// A JSON-like body with repetition and some noise, `n` records long.
std::string sample_body(int n) {
  std::mt19937 rng(17);
  std::string s = "{\"docs\":[";
  for (int i = 0; i < n; ++i) {
    if (i > 0) s += ',';
    s += "{\"table\":\"visits\",\"id\":\"" + std::to_string(rng()) + "\",\"revision\":\"1-" +
         std::to_string(rng()) + "\",\"attributes\":{\"weight\":" + std::to_string(rng() % 90) +
         ",\"note\":\"follow up in " + std::to_string(rng() % 30) + " days\"}}";
  }
  return s + "]}";
}

// Decodes `data` fed `piece` bytes at a time.
std::string decode_in_pieces(Codec codec, const std::string& data, size_t piece, size_t limit) {
  Decoder decoder(codec, limit);
  std::string out;
  for (size_t at = 0; at < data.size(); at += piece) {
    decoder.write(std::string_view(data).substr(at, piece), out);
  }
  decoder.finish();
  return out;
}

DecodeError::Kind decode_failure(Codec codec, const std::string& data, size_t limit) {
  try {
    decompress(codec, data, limit);
  } catch (const DecodeError& e) {
    return e.kind();
  }
  FAIL("decoding did not fail");
  return DecodeError::Kind::corrupt;
}

}  // namespace

TEST_CASE("compress: zstd and gzip round trip in one piece and in small pieces") {
  const std::string body = sample_body(2000);
  for (Codec codec : {Codec::zstd, Codec::gzip, Codec::identity}) {
    CAPTURE(codec_name(codec));
    const std::string packed = compress(codec, body);
    if (codec != Codec::identity) CHECK(packed.size() * 3 < body.size());
    CHECK(decompress(codec, packed, body.size()) == body);
    CHECK(decode_in_pieces(codec, packed, 7, body.size()) == body);

    // Encoded in pieces too.
    Encoder encoder(codec);
    std::string streamed;
    for (size_t at = 0; at < body.size(); at += 1000) {
      encoder.write(std::string_view(body).substr(at, 1000), streamed);
    }
    encoder.finish(streamed);
    CHECK(decompress(codec, streamed, body.size()) == body);

    // Empty bodies both ways.
    CHECK(decompress(codec, compress(codec, ""), 0).empty());
    CHECK(decompress(codec, "", 10).empty());
  }
}

TEST_CASE("compress: gzip accepts several members one after the other") {
  const std::string both = compress(Codec::gzip, "hello ") + compress(Codec::gzip, "world");
  CHECK(decompress(Codec::gzip, both, 100) == "hello world");
}

TEST_CASE("compress: codec names") {
  CHECK(codec_name(Codec::zstd) == "zstd");
  CHECK(codec_from_name(" ZSTD ") == Codec::zstd);
  CHECK(codec_from_name("x-gzip") == Codec::gzip);
  CHECK(codec_from_name("gzip") == Codec::gzip);
  CHECK(codec_from_name("") == Codec::identity);
  CHECK(codec_from_name("identity") == Codec::identity);
  CHECK_FALSE(codec_from_name("br").has_value());
  CHECK_FALSE(codec_from_name("gzip, zstd").has_value());
}

TEST_CASE("compress: Accept-Encoding chooses the best acceptable coding") {
  CHECK(choose_codec("") == Codec::identity);
  CHECK(choose_codec("zstd, gzip") == Codec::zstd);
  CHECK(choose_codec("gzip, zstd") == Codec::zstd);  // equal q: zstd preferred
  CHECK(choose_codec("gzip, deflate, br") == Codec::gzip);
  CHECK(choose_codec("GZIP") == Codec::gzip);
  CHECK(choose_codec("x-gzip") == Codec::gzip);
  CHECK(choose_codec("zstd;q=0.5, gzip;q=0.8") == Codec::gzip);
  CHECK(choose_codec("zstd;q=0, gzip") == Codec::gzip);
  CHECK(choose_codec("zstd;q=0, gzip;q=0") == Codec::identity);
  CHECK(choose_codec("*") == Codec::zstd);
  CHECK(choose_codec("*;q=0.5, gzip;q=0.9") == Codec::gzip);
  CHECK(choose_codec("*;q=0") == Codec::identity);
  CHECK(choose_codec("identity;q=1, gzip;q=0.5") == Codec::identity);
  CHECK(choose_codec("identity;q=0.2, gzip;q=0.5") == Codec::gzip);
  CHECK(choose_codec("br, deflate") == Codec::identity);
  CHECK(choose_codec(" zstd ; Q=0.001 ") == Codec::zstd);
  CHECK(choose_codec("zstd;q=1.0, gzip;q=0.999") == Codec::zstd);
  // Unreadable q-values: the element is ignored.
  CHECK(choose_codec("zstd;q=2, gzip") == Codec::gzip);
  CHECK(choose_codec("zstd;q=abc") == Codec::identity);
  CHECK(choose_codec("zstd;q=0.1234") == Codec::identity);
  CHECK(choose_codec(",,, ;q=1, gzip") == Codec::gzip);
}

TEST_CASE("compress: cut-short and corrupt input is a corrupt error") {
  const std::string body = sample_body(300);
  for (Codec codec : {Codec::zstd, Codec::gzip}) {
    CAPTURE(codec_name(codec));
    const std::string packed = compress(codec, body);
    // Cut short anywhere: never accepted as the whole body.
    for (size_t cut : {size_t{1}, size_t{5}, packed.size() / 2, packed.size() - 1}) {
      CAPTURE(cut);
      CHECK(decode_failure(codec, packed.substr(0, cut), 10 * kMiB) == DecodeError::Kind::corrupt);
    }
    // A flipped byte in the middle: the checksum (zstd) or CRC (gzip) or
    // the format itself catches it.
    std::string flipped = packed;
    flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x5a);
    CHECK(decode_failure(codec, flipped, 10 * kMiB) == DecodeError::Kind::corrupt);
    // Not compressed at all.
    CHECK(decode_failure(codec, "{\"docs\":[]}", 10 * kMiB) == DecodeError::Kind::corrupt);
    // Trailing garbage after a whole stream.
    CHECK(decode_failure(codec, packed + "garbage!", 10 * kMiB) == DecodeError::Kind::corrupt);
  }
}

TEST_CASE("compress: a body one byte over the limit is too_large, at the limit it decodes") {
  const std::string body = sample_body(100);
  for (Codec codec : {Codec::zstd, Codec::gzip, Codec::identity}) {
    CAPTURE(codec_name(codec));
    const std::string packed = compress(codec, body);
    CHECK(decompress(codec, packed, body.size()) == body);
    CHECK(decode_failure(codec, packed, body.size() - 1) == DecodeError::Kind::too_large);
  }
}

TEST_CASE("compress: a zip bomb stops at the limit without holding more than the limit") {
  // 1 GiB of zeros, compressed 64 MiB at a time so the test itself never
  // holds the gigabyte.
  constexpr size_t kBomb = 1024 * kMiB;
  constexpr size_t kLimit = 16 * kMiB;
  const std::string zeros(64 * kMiB, '\0');
  for (Codec codec : {Codec::zstd, Codec::gzip}) {
    CAPTURE(codec_name(codec));
    Encoder encoder(codec);
    std::string bomb;
    for (size_t done = 0; done < kBomb; done += zeros.size()) encoder.write(zeros, bomb);
    encoder.finish(bomb);
    MESSAGE(codec_name(codec) << " bomb: " << bomb.size() << " bytes for 1 GiB");
    CHECK(bomb.size() < 2 * kMiB);

    Decoder decoder(codec, kLimit);
    std::string out;
    bool too_large = false;
    try {
      decoder.write(bomb, out);
      decoder.finish();
    } catch (const DecodeError& e) {
      too_large = e.kind() == DecodeError::Kind::too_large;
    }
    CHECK(too_large);
    CHECK(decoder.produced() <= kLimit);
    CHECK(out.size() <= kLimit);
    CHECK(out.capacity() <= kLimit);  // the output never grew past the limit
  }
}

TEST_CASE("compress: a zstd frame asking for a window over 8 MiB is refused") {
  // A frame header asking for a 32 MiB window, built by hand (our encoder
  // never asks for more than 8 MiB): magic number, a Frame_Header_Descriptor
  // with nothing optional, a Window_Descriptor of exponent 15 (2^(10+15)).
  std::string frame("\x28\xb5\x2f\xfd", 4);
  frame += '\x00';
  frame += static_cast<char>(15 << 3);
  frame += std::string("\x01\x00\x00", 3);  // last block, raw, size 0
  CHECK(decode_failure(Codec::zstd, frame, kMiB) == DecodeError::Kind::corrupt);
  // The same frame with an 8 MiB window is accepted.
  std::string small = frame;
  small[5] = static_cast<char>(13 << 3);
  CHECK(decompress(Codec::zstd, small, kMiB).empty());
}

}  // namespace outpost
