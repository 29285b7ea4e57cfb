// The only translation unit that instantiates Beast and Asio templates for
// the server (compile time): the listener and one session template for plain
// TCP and for TLS.
#include "server/server.h"

#include <openssl/ssl.h>

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
  void remove_session(SessionBase* key) {
    {
      std::lock_guard lock(mu_);
      sessions_.erase(key);
      --live_;
    }
    router_.metrics().connection_closed();
    cv_.notify_all();
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
                    HttpResponse response = router_.handle(request, true);
                    --longpolls_running_;
                    done(std::move(response));
                  });
        return;
      }
      --longpolls_running_;
      net::post(workers_, [this, request = std::move(request), done = std::move(done)]() mutable {
        done(router_.handle(request, false));
      });
      return;
    }
    net::post(workers_, [this, request = std::move(request), done = std::move(done)]() mutable {
      done(router_.handle(request, true));
    });
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
  size_t live_ = 0;  // sessions alive (under mu_)
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

  ~Session() override { server_.remove_session(this); }

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

  void begin() {
    if (server_.stopping_) return close();
    if constexpr (kTls) {
      state_ = State::handshake;
      tcp().expires_after(server_.options_.read_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->close();
                                self->wait_request(true);
                              });
    } else {
      wait_request(true);
    }
  }

  // Waits for the first bytes of the next request: a fresh connection gets
  // the read timeout, a kept-alive one the idle timeout.
  void wait_request(bool first) {
    if (server_.stopping_) return shutdown();
    if (buffer_.size() > 0) return read_request();  // pipelined bytes already here
    state_ = State::idle;
    tcp().expires_after(first ? server_.options_.read_timeout : server_.options_.idle_timeout);
    stream_.async_read_some(buffer_.prepare(kFirstReadBytes),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec || n == 0) return self->close();
                              self->buffer_.commit(n);
                              self->read_request();
                            });
  }

  // Reads one whole request through a parser carrying the limits, within
  // the read timeout.
  void read_request() {
    state_ = State::reading;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options_.max_header_bytes));
    parser_->body_limit(server_.options_.max_body_bytes);
    tcp().expires_after(server_.options_.read_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      if (ec == beast::error::timeout) {
        log_info(kComponent, "connection dropped: request not read in time", {{"remote", remote_}});
        return close();
      }
      std::optional<Error> error = read_error_response(ec, server_.options_);
      if (!error) return close();
      HttpResponse response;
      response.status = http_status(error->code());
      response.body = error_to_json(*error);
      response.route = "unmatched";
      server_.router_.metrics().record_request("unmatched", "-", response.status, 0);
      server_.router_.metrics().record_error(error->code_name());
      log_info("http", "request",
               {{"route", "unmatched"},
                {"status", response.status},
                {"remote", remote_},
                {"error", error->message()}});
      keep_alive_ = false;
      return send(std::move(response));
    }
    state_ = State::busy;
    tcp().expires_never();
    auto& message = parser_->get();
    keep_alive_ = message.keep_alive();
    HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    for (const auto& field : message) {
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(message.body());
    request.remote = remote_;
    parser_.reset();
    auto self = this->shared_from_this();
    server_.handle(std::move(request), [self](HttpResponse response) {
      net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->send(std::move(response));
      });
    });
  }

  void send(HttpResponse response) {
    if (state_ == State::closed) return;
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
  void shutdown() {
    if (state_ == State::closed) return;
    if constexpr (kTls) {
      state_ = State::closed;
      tcp().expires_after(std::chrono::seconds(2));
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code) { self->tcp().close(); });
    } else {
      beast::error_code ignored;
      tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
      close();
    }
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
  std::shared_ptr<http::response<http::string_body>> response_;
  bool keep_alive_ = true;
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
    {
      std::lock_guard lock(mu_);
      admit = live_ < options_.max_connections;
      if (admit) ++live_;
    }
    if (!admit) {
      router_.metrics().connection_refused();
      log_warn(kComponent, "connection refused: too many connections",
               {{"remote", remote}, {"max", options_.max_connections}});
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
