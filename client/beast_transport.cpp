// The Boost.Beast transport: synchronous calls built from Beast's
// asynchronous operations, each run to completion on the connection's own
// io_context, so that beast::tcp_stream's expiry bounds every connect,
// handshake, write and read (Beast's synchronous calls ignore it). This is
// the only translation unit of the client that includes Beast or Asio.
#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <mutex>
#include <optional>
#include <vector>

#include "api/error.h"
#include "client/transport.h"
#include "utils/compress.h"

namespace outpost {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

using Request = http::request<http::span_body<const char>>;

// Idle connections older than this are not reused: the server may be about
// to close them (its idle keep-alive limit is 60 s by default).
constexpr std::chrono::seconds kMaxIdle{30};

bool is_transient(const beast::error_code& ec) {
  if (ec == beast::error::timeout || ec == http::error::end_of_stream ||
      ec == http::error::partial_message || ec == asio::error::eof ||
      ec == asio::error::connection_refused || ec == asio::error::connection_reset ||
      ec == asio::error::connection_aborted || ec == asio::error::broken_pipe ||
      ec == asio::error::network_unreachable || ec == asio::error::host_unreachable ||
      ec == asio::error::network_down || ec == asio::error::network_reset ||
      ec == asio::error::timed_out || ec == asio::error::try_again ||
      ec == asio::error::host_not_found_try_again || ec == ssl::error::stream_truncated) {
    return true;
  }
  return false;
}

std::string describe(const beast::error_code& ec) {
  if (ec == beast::error::timeout) return "timed out";
  std::string text = ec.message();
  if (ec.category() == asio::error::get_ssl_category()) {
    const unsigned long err = static_cast<unsigned long>(ec.value());
    char reason[256];
    ERR_error_string_n(err, reason, sizeof reason);
    if (text.empty() || text == "unknown error") text = reason;
  }
  return text;
}

bool is_ip_address(const std::string& host) {
  beast::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// One connection (plain or TLS) and the io_context its operations run on.
// Used by one thread at a time (the pool hands it out).
class Connection {
 public:
  Connection(const HttpUrl& url, const TransportOptions& options, ssl::context* tls_context)
      : url_(url), options_(options) {
    if (tls_context != nullptr) {
      tls_.emplace(ioc_, *tls_context);
    } else {
      plain_.emplace(ioc_);
    }
  }

  beast::tcp_stream& lowest() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }

  // Connects (and handshakes); throws TransportFailure.
  void open() {
    tcp::resolver resolver(ioc_);
    beast::error_code ec;
    auto endpoints = resolver.resolve(url_.host, std::to_string(url_.port), ec);
    if (ec) {
      throw TransportFailure(url_.str() + ": cannot resolve " + url_.host + ": " + describe(ec),
                             ec == asio::error::host_not_found_try_again);
    }
    lowest().expires_after(options_.connect_timeout);
    lowest().async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    run();
    if (ec) {
      throw TransportFailure(url_.str() + ": cannot connect: " + describe(ec), is_transient(ec));
    }
    beast::error_code ignored;
    lowest().socket().set_option(tcp::no_delay(true), ignored);
    if (!tls_) return;
    if (!is_ip_address(url_.host)) {
      SSL_set_tlsext_host_name(tls_->native_handle(), url_.host.c_str());
    }
    if (!options_.insecure) {
      tls_->set_verify_mode(ssl::verify_peer);
      tls_->set_verify_callback(ssl::host_name_verification(url_.host));
    }
    lowest().expires_after(options_.connect_timeout);
    tls_->async_handshake(ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
    run();
    if (ec) {
      const bool tls_error = ec.category() == asio::error::get_ssl_category();
      std::string message = url_.str() + ": TLS handshake failed: " + describe(ec);
      if (tls_error && !options_.insecure) {
        message += " (for a self-signed certificate give its CA file with --cacert FILE)";
      }
      throw TransportFailure(message, !tls_error && is_transient(ec),
                             tls_error ? ErrorCode::internal : ErrorCode::unavailable);
    }
  }

  // Thrown when a reused connection was found closed before any byte of
  // the response arrived: the caller may retry on a new connection.
  struct Stale {
    beast::error_code ec;
  };

  // What send() needs of a response beyond HttpResponse.
  struct Received {
    std::string content_encoding;
    std::string accept_encoding;
  };

  // Sends `request` (whose body is `plain_body` bytes once decoded) and
  // reads the response, its body still as it came. Adds the bytes moved to
  // `bytes`, and to `plain` with the request body at its plain size.
  HttpResponse exchange(const Request& request, size_t plain_body,
                        std::chrono::milliseconds extra_timeout, size_t body_limit,
                        std::atomic<uint64_t>& bytes, std::atomic<uint64_t>& plain, bool reused,
                        bool& keep, Received& got) {
    return tls_ ? exchange_on(*tls_, request, plain_body, extra_timeout, body_limit, bytes, plain,
                              reused, keep, got)
                : exchange_on(*plain_, request, plain_body, extra_timeout, body_limit, bytes, plain,
                              reused, keep, got);
  }

  Clock::time_point idle_since{};

 private:
  void run() {
    ioc_.restart();
    ioc_.run();
  }

  template <typename Stream>
  HttpResponse exchange_on(Stream& stream, const Request& request, size_t plain_body,
                           std::chrono::milliseconds extra_timeout, size_t body_limit,
                           std::atomic<uint64_t>& bytes, std::atomic<uint64_t>& plain, bool reused,
                           bool& keep, Received& got) {
    beast::error_code ec;
    size_t n = 0;
    lowest().expires_after(options_.io_timeout);
    http::async_write(stream, request, [&](beast::error_code e, size_t written) {
      ec = e;
      n = written;
    });
    run();
    bytes += n;
    const size_t wire_body = request.body().size();
    plain += !ec && n >= wire_body ? n - wire_body + plain_body : n;
    // A server may answer before it has read the whole body (413, 401) and
    // close: the answer, if it came, says more than the broken pipe does,
    // so it is read even after a failed write.
    const beast::error_code write_error = ec;
    if (write_error == beast::error::timeout) {
      throw TransportFailure(url_.str() + ": sending the request failed: timed out", true);
    }

    http::response_parser<http::string_body> parser;
    parser.body_limit(body_limit);
    parser.header_limit(static_cast<uint32_t>(
        std::min<size_t>(options_.max_response_header, std::numeric_limits<uint32_t>::max())));
    lowest().expires_after(options_.io_timeout + extra_timeout);
    n = 0;
    http::async_read(stream, buffer_, parser, [&](beast::error_code e, size_t read) {
      ec = e;
      n = read;
    });
    run();
    bytes += n;
    plain += n;
    if (ec && write_error) {
      // No answer after a failed write: a reused connection the server had
      // closed, or a failure to report as the write's.
      if (reused) throw Stale{write_error};
      throw TransportFailure(url_.str() + ": sending the request failed: " + describe(write_error),
                             is_transient(write_error));
    }
    if (ec) {
      if (reused && !parser.got_some() &&
          (ec == http::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::error::connection_reset || ec == ssl::error::stream_truncated)) {
        throw Stale{ec};
      }
      if (ec == http::error::body_limit || ec == http::error::header_limit) {
        throw TransportFailure(
            url_.str() + ": the response is larger than the client accepts for this request (" +
                std::to_string(ec == http::error::body_limit ? body_limit
                                                             : options_.max_response_header) +
                " bytes: " + describe(ec) + ")",
            false, ErrorCode::too_large, ec == http::error::body_limit);
      }
      throw TransportFailure(url_.str() + ": reading the response failed: " + describe(ec),
                             is_transient(ec));
    }
    http::response<http::string_body> response = parser.release();
    if (write_error && response.result_int() < 400) {
      // Only a refusal can answer a request whose body was not all sent.
      throw TransportFailure(url_.str() + ": sending the request failed: " + describe(write_error),
                             is_transient(write_error));
    }
    keep = response.keep_alive() && !write_error;
    HttpResponse out;
    out.status = static_cast<int>(response.result_int());
    out.content_type = std::string(response[http::field::content_type]);
    got.content_encoding = std::string(response[http::field::content_encoding]);
    got.accept_encoding = std::string(response[http::field::accept_encoding]);
    out.body = std::move(response.body());
    return out;
  }

  const HttpUrl& url_;
  const TransportOptions& options_;
  asio::io_context ioc_{1};
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
};

class BeastTransport final : public Transport {
 public:
  BeastTransport(HttpUrl url, TransportOptions options)
      : url_(std::move(url)), options_(std::move(options)) {
    if (!url_.tls) return;
    tls_context_.emplace(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(tls_context_->native_handle(), TLS1_2_VERSION);
    if (options_.insecure) {
      tls_context_->set_verify_mode(ssl::verify_none);
      return;
    }
    tls_context_->set_verify_mode(ssl::verify_peer);
    beast::error_code ec;
    if (!options_.ca_file.empty()) {
      tls_context_->load_verify_file(options_.ca_file, ec);
      if (ec) {
        throw Error(ErrorCode::invalid_value, "--cacert " + options_.ca_file +
                                                  ": cannot load CA certificates: " + describe(ec));
      }
    } else {
      tls_context_->set_default_verify_paths(ec);
    }
  }

  HttpResponse send(const HttpRequest& in) override {
    bool compressed = options_.compress && in.body.size() >= kMinCompressBytes &&
                      server_reads_zstd_.load() && !plain_requests_.load();
    HttpResponse response = send_once(in, compressed);
    if (compressed && response.status == 415) {
      // The server (or a proxy before it) does not read compressed bodies
      // after all: stop compressing, and send this one again as it is.
      plain_requests_ = true;
      response = send_once(in, false);
    }
    return response;
  }

  uint64_t bytes_moved() const override { return bytes_.load(std::memory_order_relaxed); }
  uint64_t plain_bytes_moved() const override { return plain_.load(std::memory_order_relaxed); }

 private:
  HttpResponse send_once(const HttpRequest& in, bool compressed) {
    Request request{http::string_to_verb(in.method), url_.base_path + in.target, 11};
    request.set(http::field::host, url_.host_header());
    request.set(http::field::user_agent, "outpost/0.1.0");
    request.set(http::field::accept, "application/json");
    if (options_.compress) request.set(http::field::accept_encoding, "zstd, gzip");
    if (!options_.token.empty())
      request.set(http::field::authorization, "Bearer " + options_.token);
    if (!in.body.empty() || in.method == "PUT" || in.method == "POST") {
      request.set(http::field::content_type, "application/json");
    }
    std::string packed;
    if (compressed) {
      packed = compress(Codec::zstd, in.body);
      request.set(http::field::content_encoding, "zstd");
      request.body() = beast::span<const char>(packed.data(), packed.size());
    } else {
      request.body() = beast::span<const char>(in.body.data(), in.body.size());
    }
    request.keep_alive(true);
    request.prepare_payload();

    for (;;) {
      std::unique_ptr<Connection> connection = take();
      const bool reused = connection != nullptr;
      if (!reused) {
        connection =
            std::make_unique<Connection>(url_, options_, tls_context_ ? &*tls_context_ : nullptr);
        connection->open();
      }
      bool keep = false;
      Connection::Received got;
      HttpResponse response;
      try {
        response = connection->exchange(request, in.body.size(), in.extra_timeout, body_limit(in),
                                        bytes_, plain_, reused, keep, got);
      } catch (const Connection::Stale&) {
        continue;  // the server closed an idle connection: try the next one, or a new one
      }
      if (keep) give_back(std::move(connection));
      if (!got.accept_encoding.empty() && choose_codec(got.accept_encoding) == Codec::zstd) {
        server_reads_zstd_ = true;
      }
      decode(got.content_encoding, response.body, body_limit(in));
      return response;
    }
  }

  // The most a response to `in` may hold, as sent and decoded.
  size_t body_limit(const HttpRequest& in) const {
    return in.max_response_body == 0 ? options_.max_response_body
                                     : std::min(in.max_response_body, options_.max_response_body);
  }

  // Replaces a compressed response body by its decoded bytes, at most
  // `limit` of them; counts the difference in plain_.
  void decode(const std::string& content_encoding, std::string& body, size_t limit) {
    const std::optional<Codec> codec = codec_from_name(content_encoding);
    if (!codec) {
      throw TransportFailure(url_.str() +
                                 ": the response has a Content-Encoding the client "
                                 "cannot read: '" +
                                 content_encoding.substr(0, 40) + "'",
                             false);
    }
    if (*codec == Codec::identity) return;
    std::string plain;
    try {
      plain = decompress(*codec, body, limit);
    } catch (const DecodeError& e) {
      if (e.kind() == DecodeError::Kind::too_large) {
        throw TransportFailure(
            url_.str() + ": the response is larger than the client accepts for this request (" +
                std::to_string(limit) + " bytes decoded: " + e.what() + ")",
            false, ErrorCode::too_large, true);
      }
      throw TransportFailure(url_.str() + ": the response body cannot be decoded: " + e.what(),
                             false);
    }
    if (plain.size() >= body.size()) {
      plain_ += plain.size() - body.size();
    } else {
      plain_ -= body.size() - plain.size();
    }
    body = std::move(plain);
  }

  std::unique_ptr<Connection> take() {
    std::lock_guard lock(mu_);
    const auto now = Clock::now();
    while (!idle_.empty()) {
      std::unique_ptr<Connection> c = std::move(idle_.back());
      idle_.pop_back();
      if (now - c->idle_since < kMaxIdle) return c;
    }
    return nullptr;
  }

  void give_back(std::unique_ptr<Connection> connection) {
    connection->idle_since = Clock::now();
    std::lock_guard lock(mu_);
    if (idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(connection));
  }

  const HttpUrl url_;
  const TransportOptions options_;
  std::optional<ssl::context> tls_context_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::atomic<uint64_t> bytes_{0};
  std::atomic<uint64_t> plain_{0};              // bytes_ with bodies at their decoded size
  std::atomic<bool> server_reads_zstd_{false};  // a response said Accept-Encoding: zstd
  std::atomic<bool> plain_requests_{false};     // a compressed request got 415
};

}  // namespace

std::unique_ptr<Transport> make_beast_transport(const HttpUrl& url,
                                                const TransportOptions& options) {
  return std::make_unique<BeastTransport>(url, options);
}

}  // namespace outpost
