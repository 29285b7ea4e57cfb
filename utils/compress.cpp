#include "utils/compress.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <vector>

namespace outpost {

namespace {

constexpr int kZstdDefaultLevel = 3;
constexpr int kGzipDefaultLevel = 6;
// The largest zstd window a decoder accepts: 8 MiB, as RFC 9659 requires
// of the "zstd" content coding. A frame asking for more is refused instead
// of making us allocate its window.
constexpr int kZstdWindowLogMax = 23;
// Each decoding step writes into a buffer of this size before the bytes are
// checked against the limit and appended.
constexpr size_t kStep = 64 * 1024;
// zlib counts in 32-bit unsigned ints: input is fed at most this much at once.
constexpr size_t kZlibSlice = size_t{1} << 30;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// An RFC 9110 qvalue as thousandths (0..1000), or nullopt when malformed.
std::optional<int> parse_qvalue(std::string_view v) {
  if (v.empty() || (v[0] != '0' && v[0] != '1')) return std::nullopt;
  int whole = v[0] - '0';
  int thousandths = 0;
  if (v.size() > 1) {
    if (v[1] != '.' || v.size() > 5) return std::nullopt;
    int scale = 100;
    for (size_t i = 2; i < v.size(); ++i, scale /= 10) {
      if (v[i] < '0' || v[i] > '9') return std::nullopt;
      thousandths += (v[i] - '0') * scale;
    }
  }
  if (whole == 1 && thousandths != 0) return std::nullopt;
  return whole * 1000 + thousandths;
}

[[noreturn]] void fail_library(const std::string& what) {
  throw std::runtime_error("compression library failure: " + what);
}

}  // namespace

std::string_view codec_name(Codec codec) {
  switch (codec) {
    case Codec::identity:
      return "identity";
    case Codec::gzip:
      return "gzip";
    case Codec::zstd:
      return "zstd";
  }
  return "identity";
}

std::optional<Codec> codec_from_name(std::string_view content_encoding) {
  const std::string_view name = trim(content_encoding);
  if (name.empty() || iequals(name, "identity")) return Codec::identity;
  if (iequals(name, "zstd")) return Codec::zstd;
  if (iequals(name, "gzip") || iequals(name, "x-gzip")) return Codec::gzip;
  return std::nullopt;
}

Codec choose_codec(std::string_view accept_encoding) {
  std::optional<int> zstd, gzip, identity, star;  // q-values as listed
  std::string_view rest = accept_encoding;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view element = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const size_t semi = element.find(';');
    const std::string_view coding = trim(element.substr(0, semi));
    if (coding.empty()) continue;
    std::optional<int> q = 1000;
    std::string_view params =
        semi == std::string_view::npos ? std::string_view{} : element.substr(semi + 1);
    while (!params.empty()) {
      const size_t next = params.find(';');
      const std::string_view param = trim(params.substr(0, next));
      params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
      const size_t eq = param.find('=');
      if (eq != std::string_view::npos && iequals(trim(param.substr(0, eq)), "q")) {
        q = parse_qvalue(trim(param.substr(eq + 1)));
      }
    }
    if (!q) continue;  // unreadable q-value: the element is ignored
    if (iequals(coding, "zstd")) {
      zstd = q;
    } else if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) {
      gzip = q;
    } else if (iequals(coding, "identity")) {
      identity = q;
    } else if (coding == "*") {
      star = q;
    }
  }
  const int q_zstd = zstd.value_or(star.value_or(0));
  const int q_gzip = gzip.value_or(star.value_or(0));
  // Identity is the fallback: it wins only where it is listed, with a higher q.
  const int q_identity = identity.value_or(0);
  if (q_zstd > 0 && q_zstd >= q_gzip && q_zstd >= q_identity) return Codec::zstd;
  if (q_gzip > 0 && q_gzip >= q_identity) return Codec::gzip;
  return Codec::identity;
}

// ---------------------------------------------------------------- encoding

class Encoder::Impl {
 public:
  virtual ~Impl() = default;
  virtual void write(std::string_view in, std::string& out) = 0;
  virtual void finish(std::string& out) = 0;
};

namespace {

class IdentityEncoder final : public Encoder::Impl {
 public:
  void write(std::string_view in, std::string& out) override { out.append(in); }
  void finish(std::string&) override {}
};

class ZstdEncoder final : public Encoder::Impl {
 public:
  explicit ZstdEncoder(int level) : ctx_(ZSTD_createCCtx()) {
    if (ctx_ == nullptr) fail_library("ZSTD_createCCtx");
    ZSTD_CCtx_setParameter(ctx_, ZSTD_c_compressionLevel, std::clamp(level, 1, 19));
    ZSTD_CCtx_setParameter(ctx_, ZSTD_c_checksumFlag, 1);
  }
  ~ZstdEncoder() override { ZSTD_freeCCtx(ctx_); }

  void write(std::string_view in, std::string& out) override { run(in, ZSTD_e_continue, out); }
  void finish(std::string& out) override { run({}, ZSTD_e_end, out); }

 private:
  // Compresses straight into the tail of `out`, one output-sized step at a time.
  void run(std::string_view in, ZSTD_EndDirective mode, std::string& out) {
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    const size_t step = ZSTD_CStreamOutSize();
    for (;;) {
      const size_t used = out.size();
      out.resize(used + step);
      ZSTD_outBuffer output{out.data() + used, step, 0};
      const size_t left = ZSTD_compressStream2(ctx_, &output, &input, mode);
      out.resize(used + output.pos);
      if (ZSTD_isError(left)) fail_library(ZSTD_getErrorName(left));
      const bool done = mode == ZSTD_e_end ? left == 0 : input.pos == input.size;
      if (done) return;
    }
  }

  ZSTD_CCtx* ctx_;
};

class GzipEncoder final : public Encoder::Impl {
 public:
  explicit GzipEncoder(int level) {
    // windowBits 15 + 16: a gzip wrapper (RFC 1952) around deflate.
    if (deflateInit2(&zs_, std::clamp(level, 1, 9), Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
      fail_library("deflateInit2");
    }
  }
  ~GzipEncoder() override { deflateEnd(&zs_); }

  void write(std::string_view in, std::string& out) override {
    while (!in.empty()) {
      const size_t slice = std::min(in.size(), kZlibSlice);
      run(in.substr(0, slice), Z_NO_FLUSH, out);
      in.remove_prefix(slice);
    }
  }
  void finish(std::string& out) override { run({}, Z_FINISH, out); }

 private:
  void run(std::string_view in, int flush, std::string& out) {
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs_.avail_in = static_cast<uInt>(in.size());
    for (;;) {
      const size_t used = out.size();
      out.resize(used + kStep);
      zs_.next_out = reinterpret_cast<Bytef*>(out.data() + used);
      zs_.avail_out = static_cast<uInt>(kStep);
      const int rc = deflate(&zs_, flush);
      out.resize(used + (kStep - zs_.avail_out));
      if (rc == Z_STREAM_END) return;
      if (rc != Z_OK && rc != Z_BUF_ERROR) fail_library(zs_.msg ? zs_.msg : "deflate");
      if (flush == Z_NO_FLUSH && zs_.avail_in == 0 && zs_.avail_out != 0) return;
    }
  }

  z_stream zs_{};
};

}  // namespace

Encoder::Encoder(Codec codec, int level) {
  switch (codec) {
    case Codec::identity:
      impl_ = std::make_unique<IdentityEncoder>();
      break;
    case Codec::gzip:
      impl_ = std::make_unique<GzipEncoder>(level > 0 ? level : kGzipDefaultLevel);
      break;
    case Codec::zstd:
      impl_ = std::make_unique<ZstdEncoder>(level > 0 ? level : kZstdDefaultLevel);
      break;
  }
}

Encoder::~Encoder() = default;
void Encoder::write(std::string_view in, std::string& out) { impl_->write(in, out); }
void Encoder::finish(std::string& out) { impl_->finish(out); }

// ---------------------------------------------------------------- decoding

class Decoder::Impl {
 public:
  Impl(Codec codec, size_t limit) : codec_(codec), limit_(limit) {}
  virtual ~Impl() = default;
  virtual void write(std::string_view in, std::string& out) = 0;
  // True when the input so far ends on a whole stream.
  virtual bool complete() const = 0;

  void finish() const {
    if (consumed_ > 0 && !complete()) {
      throw DecodeError(DecodeError::Kind::corrupt,
                        "the " + std::string(codec_name(codec_)) + " data is cut short");
    }
  }
  size_t produced() const { return produced_; }

 protected:
  // Appends `n` decoded bytes, refusing any that would pass the limit. The
  // string grows geometrically, but never past what the limit allows.
  void append(const char* p, size_t n, std::string& out) {
    if (n > limit_ - produced_) {
      throw DecodeError(DecodeError::Kind::too_large, "the " + std::string(codec_name(codec_)) +
                                                          " data decodes to more than " +
                                                          std::to_string(limit_) + " bytes");
    }
    const size_t needed = out.size() + n;
    if (out.capacity() < needed) {
      const size_t ceiling = out.size() + (limit_ - produced_);
      out.reserve(std::min(ceiling, std::max(needed, out.capacity() * 2)));
    }
    out.append(p, n);
    produced_ += n;
  }

  [[noreturn]] void corrupt(const std::string& why) const {
    throw DecodeError(
        DecodeError::Kind::corrupt,
        "the body is not valid " + std::string(codec_name(codec_)) + " data (" + why + ")");
  }

  Codec codec_;
  size_t limit_;
  size_t produced_ = 0;
  size_t consumed_ = 0;
  std::vector<char> step_ = std::vector<char>(kStep);
};

namespace {

class IdentityDecoder final : public Decoder::Impl {
 public:
  explicit IdentityDecoder(size_t limit) : Impl(Codec::identity, limit) {}
  void write(std::string_view in, std::string& out) override {
    consumed_ += in.size();
    append(in.data(), in.size(), out);
  }
  bool complete() const override { return true; }
};

class ZstdDecoder final : public Decoder::Impl {
 public:
  explicit ZstdDecoder(size_t limit) : Impl(Codec::zstd, limit), ctx_(ZSTD_createDCtx()) {
    if (ctx_ == nullptr) fail_library("ZSTD_createDCtx");
    ZSTD_DCtx_setParameter(ctx_, ZSTD_d_windowLogMax, kZstdWindowLogMax);
  }
  ~ZstdDecoder() override { ZSTD_freeDCtx(ctx_); }

  void write(std::string_view in, std::string& out) override {
    consumed_ += in.size();
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    for (;;) {
      ZSTD_outBuffer output{step_.data(), step_.size(), 0};
      const size_t rc = ZSTD_decompressStream(ctx_, &output, &input);
      if (ZSTD_isError(rc)) corrupt(ZSTD_getErrorName(rc));
      append(step_.data(), output.pos, out);
      pending_ = rc;
      if (input.pos == input.size && output.pos < output.size) return;
    }
  }
  // 0 from ZSTD_decompressStream: a frame was fully decoded and flushed.
  bool complete() const override { return pending_ == 0; }

 private:
  ZSTD_DCtx* ctx_;
  size_t pending_ = 0;
};

class GzipDecoder final : public Decoder::Impl {
 public:
  explicit GzipDecoder(size_t limit) : Impl(Codec::gzip, limit) {
    if (inflateInit2(&zs_, 15 + 16) != Z_OK) fail_library("inflateInit2");  // gzip only
  }
  ~GzipDecoder() override { inflateEnd(&zs_); }

  void write(std::string_view in, std::string& out) override {
    consumed_ += in.size();
    while (!in.empty()) {
      const size_t slice = std::min(in.size(), kZlibSlice);
      run(in.substr(0, slice), out);
      in.remove_prefix(slice);
    }
  }
  bool complete() const override { return ended_; }

 private:
  void run(std::string_view in, std::string& out) {
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs_.avail_in = static_cast<uInt>(in.size());
    for (;;) {
      if (ended_) {
        if (zs_.avail_in == 0) return;
        // RFC 1952 allows several members one after the other.
        inflateReset(&zs_);
        ended_ = false;
      }
      zs_.next_out = reinterpret_cast<Bytef*>(step_.data());
      zs_.avail_out = static_cast<uInt>(step_.size());
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        ended_ = true;
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        corrupt(zs_.msg ? zs_.msg : "inflate error " + std::to_string(rc));
      }
      append(step_.data(), step_.size() - zs_.avail_out, out);
      if (!ended_ && zs_.avail_in == 0 && zs_.avail_out != 0) return;
    }
  }

  z_stream zs_{};
  bool ended_ = false;
};

}  // namespace

Decoder::Decoder(Codec codec, size_t limit) {
  switch (codec) {
    case Codec::identity:
      impl_ = std::make_unique<IdentityDecoder>(limit);
      break;
    case Codec::gzip:
      impl_ = std::make_unique<GzipDecoder>(limit);
      break;
    case Codec::zstd:
      impl_ = std::make_unique<ZstdDecoder>(limit);
      break;
  }
}

Decoder::~Decoder() = default;
void Decoder::write(std::string_view in, std::string& out) { impl_->write(in, out); }
void Decoder::finish() { impl_->finish(); }
size_t Decoder::produced() const { return impl_->produced(); }

std::string compress(Codec codec, std::string_view body, int level) {
  if (codec == Codec::zstd) {
    // One call with the size known: zstd sizes its tables to the body (a
    // small answer does not pay for a full level-3 context) and each thread
    // reuses its context from one body to the next.
    thread_local std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> ctx(ZSTD_createCCtx(),
                                                                        ZSTD_freeCCtx);
    if (ctx == nullptr) fail_library("ZSTD_createCCtx");
    ZSTD_CCtx_reset(ctx.get(), ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(ctx.get(), ZSTD_c_compressionLevel,
                           std::clamp(level > 0 ? level : kZstdDefaultLevel, 1, 19));
    ZSTD_CCtx_setParameter(ctx.get(), ZSTD_c_checksumFlag, 1);
    // Without the size in the frame a decoder works in its usual window
    // instead of buffering the whole body (measured 15 times slower).
    ZSTD_CCtx_setParameter(ctx.get(), ZSTD_c_contentSizeFlag, 0);
    std::string out(ZSTD_compressBound(body.size()), '\0');
    const size_t n = ZSTD_compress2(ctx.get(), out.data(), out.size(), body.data(), body.size());
    if (ZSTD_isError(n)) fail_library(ZSTD_getErrorName(n));
    out.resize(n);
    return out;
  }
  std::string out;
  Encoder encoder(codec, level);
  encoder.write(body, out);
  encoder.finish(out);
  return out;
}

std::string decompress(Codec codec, std::string_view body, size_t limit) {
  std::string out;
  Decoder decoder(codec, limit);
  decoder.write(body, out);
  decoder.finish();
  return out;
}

}  // namespace outpost
