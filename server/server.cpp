// The only translation unit that instantiates Beast and Asio templates for
// the server (compile time): the listener and one session template for plain
// TCP and for TLS.
#include "server/server.h"

#include <openssl/ssl.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "api/error.h"
#include "api/json.h"
#include "utils/compress.h"
#include "utils/log.h"

namespace outpost::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

constexpr std::string_view kComponent = "server";
constexpr size_t kFirstReadBytes = 4096;
// A chunked body reserves budget this far ahead of what it holds (a read
// adds at most this much).
constexpr size_t kBodyStep = 64 * 1024;
// After a refusal the connection lingers this long, discarding at most
// kDrainBytes of what the client still sends, so that it can read the
// answer (closing with unread data would reset the connection).
constexpr auto kDrainTime = std::chrono::seconds(1);
constexpr size_t kDrainBytes = 16 * 1024 * 1024;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr const char* kTransferCodings =
    "malformed HTTP request: the only transfer coding accepted is a single 'chunked' "
    "(RFC 9112 section 6.3)";

// Every response says which request content codings the server reads
// (RFC 7694), so that a client knows it may compress what it sends.
constexpr const char* kAcceptedCodings = "zstd, gzip";
// A compressed request body is fed to its decoder this much at a time; the
// decoded bytes are reserved from the body budget after each piece.
constexpr size_t kDecodePiece = 16 * 1024;

constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Whether a request's Transfer-Encoding fields (all of them, in order) name
// exactly one coding, chunked. A message without the field has none to check.
template <class Fields>
bool transfer_coding_ok(const Fields& fields) {
  auto [first, last] = fields.equal_range(http::field::transfer_encoding);
  if (first == last) return true;
  std::string all;
  for (auto it = first; it != last; ++it) {
    if (!all.empty()) all += ',';
    all += std::string_view(it->value());
  }
  size_t codings = 0;
  bool chunked = false;
  for (std::string_view rest = all; !rest.empty();) {
    const size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.empty()) continue;
    ++codings;
    chunked = beast::iequals(item, "chunked");
  }
  return codings == 1 && chunked;
}

// The coding a request body arrives in: every Content-Encoding field joined
// (several codings stacked are refused), or nullopt when it is not one the
// server reads.
std::optional<Codec> request_codec(const HttpRequest& request) {
  std::string all;
  int fields = 0;
  for (const auto& [name, value] : request.headers) {
    if (!beast::iequals(name, "Content-Encoding")) continue;
    if (fields++ > 0) all += ',';
    all += value;
  }
  return codec_from_name(all);
}

Error unsupported_coding(const HttpRequest& request) {
  std::string named(request.header("Content-Encoding").substr(0, 40));
  for (char& c : named) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
  }
  return Error(
      ErrorCode::unsupported_media_type,
      "the request body's Content-Encoding '" + named +
          "' is not supported; send it as it is (identity) or as one of: " + kAcceptedCodings);
}

// Raises the soft limit on open files so that `connections` sockets (plus
// some for the database and logs) fit; warns when the hard limit is lower.
void fit_file_limit(size_t connections) {
  const rlim_t wanted = static_cast<rlim_t>(connections) + 128;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= wanted) return;
  const rlim_t granted =
      limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
  limit.rlim_cur = granted;
  setrlimit(RLIMIT_NOFILE, &limit);
  if (granted < wanted) {
    log_warn(
        kComponent, "the open-file limit is below what max_connections needs",
        {{"limit", static_cast<uint64_t>(granted)}, {"needed", static_cast<uint64_t>(wanted)}});
  }
}

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Called (from any thread) by a graceful stop: a connection waiting for
  // its next request is closed; one busy with a request finishes it first.
  virtual void stop_if_idle() = 0;
  // Called when the grace period is over: close whatever state it is in.
  virtual void force_close() = 0;
};

}  // namespace

class Server::Impl {
 public:
  Impl(Router& router, ServerOptions options)
      : router_(router),
        options_(std::move(options)),
        workers_(static_cast<size_t>(std::max(1, options_.worker_threads))),
        longpolls_(static_cast<size_t>(std::max(1, options_.longpoll_threads))) {}

  ~Impl() { stop(std::chrono::seconds(30)); }

  void start();
  void stop(std::chrono::milliseconds grace);

  // Session bookkeeping.
  void add_session(SessionBase* key, std::weak_ptr<SessionBase> session) {
    std::lock_guard lock(mu_);
    sessions_[key] = std::move(session);
  }
  void remove_session(SessionBase* key, const std::string& remote) {
    {
      std::lock_guard lock(mu_);
      sessions_.erase(key);
      --live_;
      auto it = per_address_.find(remote);
      if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
    }
    router_.metrics().connection_closed();
    cv_.notify_all();
  }

  // Grows a session's share of the body memory budget from `held` to
  // `want` bytes; false (and nothing changed) when the budget cannot spare
  // it. A reservation is always granted when nothing else is reserved.
  bool reserve_body(size_t& held, size_t want) {
    if (want <= held) return true;
    const size_t extra = want - held;
    size_t now = body_reserved_.load();
    do {
      if (now != held && now + extra > options_.max_body_memory) return false;
    } while (!body_reserved_.compare_exchange_weak(now, now + extra));
    held = want;
    return true;
  }
  void release_body(size_t& held) {
    body_reserved_ -= held;
    held = 0;
  }

  // Runs Router::check_header() off the I/O threads (it may look a token
  // up) and hands the request back with the refusal, if any.
  template <class Done>
  void preflight(HttpRequest head, Done done) {
    net::post(workers_, [this, head = std::move(head), done = std::move(done)]() mutable {
      std::optional<HttpResponse> refusal = router_.check_header(head);
      done(std::move(head), std::move(refusal));
    });
  }

  // Runs the request off the I/O threads and hands the response to `done`
  // (which is dispatched back on the session's executor by the caller).
  template <class Done>
  void handle(HttpRequest request, Done done) {
    if (Router::is_long_poll(request)) {
      size_t running = ++longpolls_running_;
      if (running <= static_cast<size_t>(std::max(1, options_.longpoll_threads))) {
        net::post(longpolls_,
                  [this, request = std::move(request), done = std::move(done)]() mutable {
                    HttpResponse response = serve(request, true);
                    --longpolls_running_;
                    done(std::move(response));
                  });
        return;
      }
      --longpolls_running_;
      net::post(workers_, [this, request = std::move(request), done = std::move(done)]() mutable {
        done(serve(request, false));
      });
      return;
    }
    net::post(workers_, [this, request = std::move(request), done = std::move(done)]() mutable {
      done(serve(request, true));
    });
  }

  // One request on a worker: its body decoded, routed, and the answer
  // compressed when the client accepts it and it is worth it.
  // Nothing thrown escapes (a codec library out of memory is a 500).
  HttpResponse serve(HttpRequest& request, bool may_wait) noexcept {
    size_t decoded_reserved = 0;
    try {
      std::optional<Error> refusal = decode_body(request, decoded_reserved);
      HttpResponse response =
          refusal ? refusal_response(request, *refusal) : router_.handle(request, may_wait);
      release_body(decoded_reserved);
      request.body.clear();
      encode_body(request, response);
      return response;
    } catch (const std::exception& e) {
      release_body(decoded_reserved);
      log_error(kComponent, "request failed outside the router", {{"what", e.what()}});
      HttpResponse response;
      response.status = 500;
      response.body = R"({"error":"internal","message":"internal server error"})";
      return response;
    }
  }

  // Replaces a compressed request body by its decoded bytes, at most
  // max_body_bytes of them, reserving them from the body budget as they
  // grow. Returns the refusal when it cannot: 415 for a coding the server
  // does not read, 413 past the limit, 400 invalid_json for data that is not
  // what its Content-Encoding says (the body cannot be read as JSON), 503
  // when the budget is spent.
  std::optional<Error> decode_body(HttpRequest& request, size_t& reserved) {
    const std::optional<Codec> codec = request_codec(request);
    if (!codec) return unsupported_coding(request);
    const size_t wire = request.body.size();
    if (*codec == Codec::identity) {
      router_.metrics().add_request_body_bytes(wire, wire);
      return std::nullopt;
    }
    std::string plain;
    try {
      Decoder decoder(*codec, options_.max_body_bytes);
      std::string_view rest = request.body;
      while (!rest.empty()) {
        const size_t piece = std::min(rest.size(), kDecodePiece);
        decoder.write(rest.substr(0, piece), plain);
        rest.remove_prefix(piece);
        if (!reserve_body(reserved, plain.capacity())) {
          return Error(ErrorCode::unavailable,
                       "the server is decoding as many request bodies as its memory budget "
                       "allows; try again shortly");
        }
      }
      decoder.finish();
    } catch (const DecodeError& e) {
      if (e.kind() == DecodeError::Kind::too_large) {
        return Error(ErrorCode::too_large,
                     "the request body, once decoded (" + std::string(codec_name(*codec)) +
                         "), is larger than " + std::to_string(options_.max_body_bytes) + " bytes");
      }
      return Error(ErrorCode::invalid_json,
                   std::string("the request body cannot be decoded: ") + e.what());
    }
    router_.metrics().add_request_body_bytes(wire, plain.size());
    request.body = std::move(plain);
    return std::nullopt;
  }

  // An answer the server gives before routing (counted like refuse()).
  HttpResponse refusal_response(const HttpRequest& request, const Error& error) {
    HttpResponse response;
    response.status = http_status(error.code());
    response.body = error_to_json(error);
    response.route = "unmatched";
    response.error = error.code();
    router_.metrics().record_request("unmatched", "other", response.status, 0);
    router_.metrics().record_error(error.code_name());
    log_info("http", "request",
             {{"route", "unmatched"},
              {"status", response.status},
              {"remote", request.remote},
              {"error", error.message()}});
    if (response.status >= 500) {
      router_.error_log().log("other", "unmatched", response.status, error.code(), error.message());
    }
    if (error.code() == ErrorCode::unavailable) response.headers.emplace_back("Retry-After", "1");
    return response;
  }

  // Compresses the response body with the best coding the request accepts,
  // when it is at least kMinCompressBytes long.
  void encode_body(const HttpRequest& request, HttpResponse& response) {
    const size_t plain = response.body.size();
    Codec codec = Codec::identity;
    if (plain >= kMinCompressBytes) codec = choose_codec(request.header("Accept-Encoding"));
    if (codec != Codec::identity) {
      response.body = compress(codec, response.body);
      response.headers.emplace_back("Content-Encoding", std::string(codec_name(codec)));
    }
    router_.metrics().add_response_body_bytes(response.body.size(), plain);
  }

  Router& router_;
  ServerOptions options_;
  std::optional<ssl::context> ssl_;
  std::atomic<bool> stopping_{false};
  uint16_t port_ = 0;

 private:
  void accept();
  void on_accept(beast::error_code ec, tcp::socket socket);

  net::thread_pool workers_;
  net::thread_pool longpolls_;
  std::atomic<size_t> longpolls_running_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  size_t live_ = 0;                                      // sessions alive (under mu_)
  std::unordered_map<std::string, size_t> per_address_;  // live sessions by remote (under mu_)
  std::atomic<size_t> body_reserved_{0};                 // bytes of body budget reserved
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions_;
  bool stopped_ = false;
  bool started_ = false;
  std::vector<std::thread> threads_;

  // Declared last: destroyed first, while everything sessions use is alive.
  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::optional<tcp::acceptor> acceptor_;

  template <class Stream>
  friend class Session;
  friend class Server;
};

namespace {

// Maps a failed read to the response sent before closing, if any: a limit
// is 413, a malformed request 400; a timeout or a lost connection gets none.
std::optional<Error> read_error_response(const beast::error_code& ec, const ServerOptions& o) {
  if (ec == http::error::bad_transfer_encoding) {
    return Error(ErrorCode::invalid_value, kTransferCodings);
  }
  if (ec == http::error::body_limit) {
    return Error(ErrorCode::too_large,
                 "the request body is larger than " + std::to_string(o.max_body_bytes) + " bytes");
  }
  if (ec == http::error::header_limit) {
    return Error(ErrorCode::too_large, "the request header is larger than " +
                                           std::to_string(o.max_header_bytes) + " bytes");
  }
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return std::nullopt;
  if (ec.category() == beast::error_code(http::error::bad_method).category()) {
    return Error(ErrorCode::invalid_value, "malformed HTTP request: " + ec.message());
  }
  return std::nullopt;
}

}  // namespace

// One connection. Stream is beast::tcp_stream or ssl::stream<beast::tcp_stream>.
// Every member runs on the connection's strand.
template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  Session(Server::Impl& server, tcp::socket&& socket, std::string remote)
      : server_(server),
        stream_(make_stream(server, std::move(socket))),
        timer_(stream_.get_executor()),
        remote_(std::move(remote)) {}

  ~Session() override {
    server_.release_body(body_reserved_);
    server_.remove_session(this, remote_);
  }

  void run() {
    server_.add_session(this, this->weak_from_this());
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->begin(); });
  }

  void stop_if_idle() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->state_ == State::idle || self->state_ == State::handshake) self->close();
    });
  }

  void force_close() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->close(); });
  }

 private:
  enum class State { handshake, idle, reading, busy, writing, closed };

  static Stream make_stream(Server::Impl& server, tcp::socket&& socket) {
    if constexpr (kTls) {
      return Stream(beast::tcp_stream(std::move(socket)), *server.ssl_);
    } else {
      return Stream(std::move(socket));
    }
  }

  beast::tcp_stream& tcp() { return beast::get_lowest_layer(stream_); }

  // A fresh connection has one read timeout for its handshake and its whole
  // first request: the deadline is set here once.
  void begin() {
    if (server_.stopping_) return close();
    deadline_ = std::chrono::steady_clock::now() + server_.options_.read_timeout;
    if constexpr (kTls) {
      state_ = State::handshake;
      tcp().expires_at(deadline_);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->close();
                                self->wait_request(true);
                              });
    } else {
      wait_request(true);
    }
  }

  // Waits for the first bytes of the next request: a fresh connection
  // within its deadline, a kept-alive one within the idle timeout (its
  // request's deadline then starts with the first byte).
  void wait_request(bool first) {
    if (server_.stopping_) return shutdown();
    if (!first) deadline_ = std::chrono::steady_clock::now() + server_.options_.read_timeout;
    if (buffer_.size() > 0) return read_header();  // pipelined bytes already here
    state_ = State::idle;
    if (first) {
      tcp().expires_at(deadline_);
    } else {
      tcp().expires_after(server_.options_.idle_timeout);
    }
    stream_.async_read_some(
        buffer_.prepare(kFirstReadBytes),
        [self = this->shared_from_this(), first](beast::error_code ec, size_t n) {
          if (ec || n == 0) return self->close();
          self->buffer_.commit(n);
          if (!first) {
            self->deadline_ =
                std::chrono::steady_clock::now() + self->server_.options_.read_timeout;
          }
          self->read_header();
        });
  }

  // Reads the header through a parser carrying the header limit. The body
  // limit waits until the header is authenticated: an oversized
  // Content-Length without a valid token is 401, not 413.
  void read_header() {
    state_ = State::reading;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options_.max_header_bytes));
    parser_->body_limit(boost::none);
    tcp().expires_at(deadline_);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    auto& message = parser_->get();
    if (!transfer_coding_ok(message)) {
      return refuse(Error(ErrorCode::invalid_value, kTransferCodings));
    }
    keep_alive_ = message.keep_alive();
    request_ = HttpRequest{};
    request_.method = std::string(message.method_string());
    request_.target = std::string(message.target());
    for (const auto& field : message) {
      request_.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request_.remote = remote_;
    if (parser_->is_done()) return dispatch();  // no body
    // A body: the header decides first whether it is read at all.
    state_ = State::busy;
    tcp().expires_never();
    auto self = this->shared_from_this();
    server_.preflight(
        std::move(request_), [self](HttpRequest head, std::optional<HttpResponse> refusal) {
          net::post(self->stream_.get_executor(),
                    [self, head = std::move(head), refusal = std::move(refusal)]() mutable {
                      self->request_ = std::move(head);
                      self->on_preflight(std::move(refusal));
                    });
        });
  }

  void on_preflight(std::optional<HttpResponse> refusal) {
    if (state_ == State::closed) return;
    if (refusal) {
      keep_alive_ = false;
      linger_ = true;
      return send(std::move(*refusal));
    }
    // A body in a coding the server cannot read is refused before it is read.
    if (!request_codec(request_)) return refuse(unsupported_coding(request_));
    const ServerOptions& o = server_.options_;
    const auto length = parser_->content_length();
    if (length && *length > o.max_body_bytes) {
      return refuse(Error(ErrorCode::too_large, "the request body is larger than " +
                                                    std::to_string(o.max_body_bytes) + " bytes"));
    }
    parser_->body_limit(o.max_body_bytes);
    if (!reserve_for_body()) return refuse_busy();
    if (beast::iequals(request_.header("Expect"), "100-continue")) {
      // The header is accepted: let a waiting client send its body now.
      state_ = State::writing;
      tcp().expires_at(deadline_);
      net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                       [self = this->shared_from_this()](beast::error_code ec, size_t) {
                         if (ec) return self->close();
                         self->read_body();
                       });
      return;
    }
    read_body();
  }

  // The reservation the body needs next: its whole declared length, or
  // (chunked) what it holds plus the most one read adds.
  bool reserve_for_body() {
    const auto length = parser_->content_length();
    const size_t want =
        length ? static_cast<size_t>(*length) : parser_->get().body().size() + kBodyStep;
    return server_.reserve_body(body_reserved_, want);
  }

  // Reads the body step by step, within the request's deadline, growing
  // its budget reservation as it goes.
  void read_body() {
    if (parser_->is_done()) return dispatch();
    if (!reserve_for_body()) return refuse_busy();
    state_ = State::reading;
    tcp().expires_at(deadline_);
    http::async_read_some(stream_, buffer_, *parser_,
                          [self = this->shared_from_this()](beast::error_code ec, size_t) {
                            if (ec) return self->on_read_error(ec);
                            self->read_body();
                          });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == beast::error::timeout) {
      log_info(kComponent, "connection dropped: request not read in time", {{"remote", remote_}});
      return close();
    }
    std::optional<Error> error = read_error_response(ec, server_.options_);
    if (!error) return close();
    refuse(*error);
  }

  // Answers a request the server itself refuses (malformed, too large, ...)
  // and closes the connection after a brief drain.
  void refuse(const Error& error, std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpResponse response;
    response.status = http_status(error.code());
    response.body = error_to_json(error);
    response.route = "unmatched";
    response.headers = std::move(headers);
    server_.router_.metrics().record_request("unmatched", "other", response.status, 0);
    server_.router_.metrics().record_error(error.code_name());
    log_info("http", "request",
             {{"route", "unmatched"},
              {"status", response.status},
              {"remote", remote_},
              {"error", error.message()}});
    if (response.status >= 500) {
      server_.router_.error_log().log("other", "unmatched", response.status, error.code(),
                                      error.message());
    }
    keep_alive_ = false;
    linger_ = true;
    send(std::move(response));
  }

  void refuse_busy() {
    refuse(Error(ErrorCode::unavailable,
                 "the server is reading as many request bodies as its memory budget allows; "
                 "try again shortly"),
           {{"Retry-After", "1"}});
  }

  void dispatch() {
    state_ = State::busy;
    tcp().expires_never();
    request_.body = std::move(parser_->get().body());
    parser_.reset();
    auto self = this->shared_from_this();
    server_.handle(std::move(request_), [self](HttpResponse response) {
      net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->send(std::move(response));
      });
    });
  }

  void send(HttpResponse response) {
    if (state_ == State::closed) return;
    server_.release_body(body_reserved_);  // the request and its body are gone
    if (response.delay_ms > 0) {
      timer_.expires_after(std::chrono::milliseconds(response.delay_ms));
      response.delay_ms = 0;
      timer_.async_wait([self = this->shared_from_this(), response = std::move(response)](
                            beast::error_code) mutable { self->send(std::move(response)); });
      return;
    }
    state_ = State::writing;
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), 11);
    res->set(http::field::server, "outpost");
    res->set(http::field::content_type, response.content_type);
    res->set(http::field::accept_encoding, kAcceptedCodings);
    res->set(http::field::vary, "Accept-Encoding");
    res->set("X-Content-Type-Options", "nosniff");
    for (auto& [name, value] : response.headers) res->set(name, value);
    res->body() = std::move(response.body);
    res->keep_alive(keep_alive_ && !server_.stopping_);
    res->prepare_payload();
    response_ = res;
    tcp().expires_after(server_.options_.read_timeout);
    http::async_write(stream_, *res,
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        bool close = self->response_->need_eof();
                        self->response_.reset();
                        if (ec) return self->close();
                        if (close) return self->shutdown();
                        self->wait_request(false);
                      });
  }

  // Orderly end: TLS close_notify (bounded by a short timeout), then close.
  // Plain TCP after a refused request: stop sending, then discard what the
  // client still sends for a moment before closing.
  void shutdown() {
    if (state_ == State::closed) return;
    parser_.reset();
    if constexpr (kTls) {
      state_ = State::closed;
      tcp().expires_after(std::chrono::seconds(2));
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code) { self->tcp().close(); });
    } else {
      beast::error_code ignored;
      tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
      if (!linger_) return close();
      state_ = State::closed;
      buffer_.clear();
      buffer_.shrink_to_fit();
      drained_ = 0;
      tcp().expires_after(kDrainTime);
      drain();
    }
  }

  void drain() {
    stream_.async_read_some(buffer_.prepare(kFirstReadBytes),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              self->drained_ += n;
                              if (ec || n == 0 || self->drained_ >= kDrainBytes) {
                                return self->close();
                              }
                              self->drain();  // prepare() reuses the same bytes
                            });
  }

  void close() {
    state_ = State::closed;
    timer_.cancel();
    tcp().close();
  }

  Server::Impl& server_;
  Stream stream_;
  net::steady_timer timer_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpRequest request_;  // the request being read (header first, then body)
  std::shared_ptr<http::response<http::string_body>> response_;
  std::chrono::steady_clock::time_point deadline_;  // the request must be read by then
  size_t body_reserved_ = 0;                        // this session's share of the body budget
  size_t drained_ = 0;
  bool keep_alive_ = true;
  bool linger_ = false;  // a refused request: drain briefly before closing
  State state_ = State::handshake;
};

void Server::Impl::start() {
  if (started_) return;
  if (!options_.tls_cert.empty() || !options_.tls_key.empty()) {
    if (options_.tls_cert.empty() || options_.tls_key.empty()) {
      throw Error(ErrorCode::unavailable, "TLS needs both --tls-cert and --tls-key");
    }
    ssl_.emplace(ssl::context::tls_server);
    ssl_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                      ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(ssl_->native_handle(), TLS1_2_VERSION);
    // TLS 1.2: forward-secret AEAD suites only (ECDHE with AES-GCM or
    // ChaCha20-Poly1305; no static RSA key exchange, no CBC). TLS 1.3's
    // suites all are.
    if (SSL_CTX_set_cipher_list(ssl_->native_handle(), kTls12Ciphers) != 1) {
      throw Error(ErrorCode::unavailable, "the TLS library accepts none of the cipher suites");
    }
    beast::error_code ec;
    ssl_->use_certificate_chain_file(options_.tls_cert, ec);
    if (ec) {
      throw Error(ErrorCode::unavailable,
                  "cannot load the TLS certificate " + options_.tls_cert + ": " + ec.message());
    }
    ssl_->use_private_key_file(options_.tls_key, ssl::context::pem, ec);
    if (ec) {
      throw Error(ErrorCode::unavailable,
                  "cannot load the TLS key " + options_.tls_key + ": " + ec.message());
    }
  }

  fit_file_limit(options_.max_connections);
  beast::error_code ec;
  tcp::endpoint endpoint;
  net::ip::address address = net::ip::make_address(options_.host, ec);
  if (ec) {
    tcp::resolver resolver(ioc_);
    auto results = resolver.resolve(options_.host, std::to_string(options_.port), ec);
    if (ec || results.empty()) {
      throw Error(ErrorCode::unavailable,
                  "cannot resolve the listen address '" + options_.host + "': " + ec.message());
    }
    endpoint = results.begin()->endpoint();
  } else {
    endpoint = tcp::endpoint(address, options_.port);
  }
  acceptor_.emplace(net::make_strand(ioc_));
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    throw Error(ErrorCode::unavailable, "cannot listen on " + options_.host + ":" +
                                            std::to_string(options_.port) + ": " + ec.message());
  }
  port_ = acceptor_->local_endpoint().port();
  started_ = true;
  work_.emplace(ioc_.get_executor());
  accept();
  for (int i = 0; i < std::max(1, options_.io_threads); ++i) {
    threads_.emplace_back([this] {
      for (;;) {
        try {
          ioc_.run();
          return;
        } catch (const std::exception& e) {
          log_error(kComponent, "I/O thread error", {{"what", e.what()}});
        }
      }
    });
  }
}

void Server::Impl::accept() {
  acceptor_->async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
    on_accept(ec, std::move(socket));
  });
}

void Server::Impl::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_->is_open()) return;
  if (!ec && !stopping_) {
    beast::error_code ignored;
    std::string remote = socket.remote_endpoint(ignored).address().to_string();
    bool admit;
    bool address_full = false;
    {
      std::lock_guard lock(mu_);
      admit = live_ < options_.max_connections;
      if (admit) {
        size_t& from_here = per_address_[remote];
        address_full = from_here >= options_.max_connections_per_address;
        admit = !address_full;
        if (admit) {
          ++from_here;
          ++live_;
        }
      }
    }
    if (!admit) {
      router_.metrics().connection_refused();
      if (address_full) {
        log_warn(kComponent, "connection refused: too many connections from one address",
                 {{"remote", remote}, {"max", options_.max_connections_per_address}});
      } else {
        log_warn(kComponent, "connection refused: too many connections",
                 {{"remote", remote}, {"max", options_.max_connections}});
      }
      socket.close(ignored);
    } else {
      router_.metrics().connection_opened();
      socket.set_option(tcp::no_delay(true), ignored);
      if (ssl_) {
        std::make_shared<Session<ssl::stream<beast::tcp_stream>>>(*this, std::move(socket),
                                                                  std::move(remote))
            ->run();
      } else {
        std::make_shared<Session<beast::tcp_stream>>(*this, std::move(socket), std::move(remote))
            ->run();
      }
    }
  } else if (ec) {
    log_warn(kComponent, "accept failed", {{"error", ec.message()}});
    if (ec == net::error::no_descriptors) {
      // Out of file descriptors: back off briefly instead of spinning.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  if (!stopping_) accept();
}

void Server::Impl::stop(std::chrono::milliseconds grace) {
  if (!started_ || stopped_) return;
  stopped_ = true;
  stopping_ = true;
  router_.stop();
  net::post(acceptor_->get_executor(), [this] {
    beast::error_code ignored;
    acceptor_->close(ignored);
  });
  auto for_each_session = [&](auto fn) {
    std::vector<std::shared_ptr<SessionBase>> live;
    {
      std::lock_guard lock(mu_);
      for (auto& [key, weak] : sessions_) {
        if (auto s = weak.lock()) live.push_back(std::move(s));
      }
    }
    for (auto& s : live) fn(*s);
  };
  for_each_session([](SessionBase& s) { s.stop_if_idle(); });
  {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, grace, [&] { return live_ == 0; })) {
      lock.unlock();
      log_warn(kComponent, "grace period over: closing the remaining connections");
      for_each_session([](SessionBase& s) { s.force_close(); });
      lock.lock();
      cv_.wait_for(lock, std::chrono::seconds(2), [&] { return live_ == 0; });
    }
  }
  workers_.join();
  longpolls_.join();
  work_.reset();
  ioc_.stop();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

Server::Server(Router& router, ServerOptions options)
    : impl_(std::make_unique<Impl>(router, std::move(options))) {}

Server::~Server() { stop(); }

void Server::start() { impl_->start(); }
uint16_t Server::port() const { return impl_->port_; }
bool Server::tls() const { return impl_->ssl_.has_value(); }
void Server::stop(std::chrono::milliseconds grace) { impl_->stop(grace); }

}  // namespace outpost::server
