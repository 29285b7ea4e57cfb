// The byte-moving seam of the HTTP client: one request out, one response
// back, over a pool of keep-alive connections. HttpEngine (the Engine over
// HTTP) builds requests and reads responses; a Transport only moves them, so
// the engine's mapping, error decoding and retry rules are tested with a
// fake Transport and no socket.
//
// Thread-safety: a Transport may be used from several threads at once; each
// send() takes a connection of its own from the pool.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "api/error.h"
#include "client/url.h"

namespace outpost {

struct HttpRequest {
  std::string method;  // "GET", "PUT", "POST"
  std::string target;  // origin-form, already percent-encoded: "/v1/changes?since=4"
  std::string body;    // sent as application/json when not empty (or when PUT/POST)
  // Added to the read timeout (a long-poll the server may hold this long).
  std::chrono::milliseconds extra_timeout{0};
  // The largest answer this request can legitimately get, decoded (0: the
  // transport's max_response_body). Smaller than that for a request whose
  // answer is small (a checkpoint, a revs_diff), so that a hostile server
  // cannot make the client read and hold far more than it asked for.
  size_t max_response_body = 0;
  // For HttpEngine: whether an answer over the limit is the caller's to
  // handle (too_large: bulk_get asks again in halves) rather than the
  // server's fault (internal).
  bool oversized_answer_is_error = false;
};

struct HttpResponse {
  int status = 0;
  // Decoded: a compressed response body is handed over uncompressed.
  std::string body;
  std::string content_type;
};

// A request that got no HTTP response: the connection could not be made or
// broke, a timeout, a TLS failure, or a response over the size limits.
// `transient` failures (refused, reset, closed, timed out) are worth
// retrying; the others (certificate rejected, response too large, bad
// response framing) are not. `code` is the Error the caller should report
// when it gives up: unavailable, or internal for a rejected certificate and
// too_large for a response over the limits.
class TransportFailure : public std::runtime_error {
 public:
  TransportFailure(std::string message, bool transient, ErrorCode code = ErrorCode::unavailable,
                   bool over_body_limit = false)
      : std::runtime_error(std::move(message)),
        transient_(transient),
        code_(code),
        over_body_limit_(over_body_limit) {}
  bool transient() const { return transient_; }
  ErrorCode code() const { return code_; }
  // The response body (decoded) was over the request's limit.
  bool over_body_limit() const { return over_body_limit_; }

 private:
  bool transient_;
  ErrorCode code_;
  bool over_body_limit_;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends `request` and returns the response, whatever its status. A
  // pooled connection that turns out to be closed by the server before the
  // response began is replaced by a new one once, invisibly. Throws
  // TransportFailure.
  virtual HttpResponse send(const HttpRequest& request) = 0;
  // Bytes written and read on the wire so far (TLS: the HTTP bytes, before
  // encryption), a running total over every connection. Compressed bodies
  // count as sent.
  virtual uint64_t bytes_moved() const = 0;
  // The same total with every body counted at its uncompressed size: what
  // bytes_moved() would be without compression.
  virtual uint64_t plain_bytes_moved() const { return bytes_moved(); }
};

struct TransportOptions {
  std::string token;      // "Authorization: Bearer <token>" when not empty
  bool insecure = false;  // TLS: skip certificate and host name verification
  std::string ca_file;    // TLS: trust these CA certificates (PEM) instead of the system's
  std::chrono::milliseconds connect_timeout{10000};
  // Writing a request and reading its response (a long-poll adds its wait).
  // 120 s: a full 16 MiB bulk_docs into a busy hub must fit, and it is the
  // value docs/embedding.md gives (HttpClientOptions inherits it).
  std::chrono::milliseconds io_timeout{120000};
  // The most any answer may hold, decoded (a request may ask for less:
  // HttpRequest::max_response_body). A bulk_get answer over it is asked
  // again in halves (client/http_engine.h).
  size_t max_response_body = size_t{64} << 20;
  size_t max_response_header = size_t{64} << 10;
  size_t max_idle_connections = 8;  // kept open in the pool between requests
  // Ask for compressed responses (Accept-Encoding: zstd, gzip) and send
  // request bodies of kMinCompressBytes or more as zstd once the server has
  // said it reads zstd (an Accept-Encoding field in any of its responses).
  // A 415 answer to a compressed request turns request compression off for
  // this transport and the request is sent again uncompressed. A response
  // body is decoded to at most max_response_body bytes (more: too_large).
  bool compress = true;
};

// The Boost.Beast transport (HTTP/1.1, keep-alive, OpenSSL for https).
// Throws Error(invalid_value) for an unreadable CA file.
std::unique_ptr<Transport> make_beast_transport(const HttpUrl& url,
                                                const TransportOptions& options);

}  // namespace outpost
