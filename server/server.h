// The HTTP server (DESIGN.md sections 8 and 9): Boost.Beast over Asio,
// plain or TLS (1.2 minimum), HTTP/1.1 keep-alive. A few I/O threads move
// bytes; every request is answered by the Router on a worker pool (and
// long-polls on a pool of their own), so blocking Engine calls never stall
// the I/O threads. Enforced here: header and body size (read through a
// request parser that carries the limits), read timeout for a whole request,
// idle keep-alive timeout, and the cap on concurrent connections.
//
// A request is read in two steps: its header, then (once the Router has
// accepted the route, method and token from the header alone) its body. A
// refused request is answered and the connection closed without reading the
// body. The whole request, TLS handshake included, must arrive within one
// read timeout; bodies in flight share a memory budget; one address holds at
// most max_connections_per_address connections.
//
// Thread-safety: start(), stop() and port() from one controlling thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "api/limits.h"
#include "server/router.h"

namespace outpost::server {

struct ServerOptions {
  std::string host = "127.0.0.1";  // an IP address or a name to resolve
  uint16_t port = 8080;            // 0: any free port (see port())
  std::string tls_cert;            // PEM certificate chain; with tls_key: HTTPS
  std::string tls_key;             // PEM private key

  int io_threads = 2;
  int worker_threads = 4;     // ordinary requests (blocking Engine calls)
  int longpoll_threads = 64;  // long-polls beyond this many answer at once

  // Defaults: DESIGN.md section 9 (api/limits.h).
  size_t max_header_bytes = kDefaultLimits.max_header_bytes;
  size_t max_body_bytes = kDefaultLimits.max_body_bytes;
  // One whole request (and one response write).
  std::chrono::milliseconds read_timeout{kDefaultLimits.read_timeout_ms};
  // Between requests on a kept-alive connection.
  std::chrono::milliseconds idle_timeout{kDefaultLimits.idle_timeout_ms};
  size_t max_connections = kDefaultLimits.max_connections;  // excess closed at once
  // From one remote address; excess closed.
  size_t max_connections_per_address = kDefaultLimits.max_connections_per_address;
  // Bodies being read at once may reserve this many bytes in total (a
  // Content-Length body reserves its length up front, a chunked one grows
  // its reservation as it arrives). A request that does not fit gets 503
  // unavailable (Retry-After: 1) and its connection is closed. A body alone
  // on the server always fits.
  size_t max_body_memory = 128 * 1024 * 1024;
};

class Server {
 public:
  // `router` must outlive the server.
  Server(Router& router, ServerOptions options);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts the threads. Throws Error(unavailable) when the
  // address cannot be bound or the TLS files cannot be loaded.
  void start();
  uint16_t port() const;  // the bound port (after start)
  bool tls() const;

  // Graceful stop: stops accepting, cuts long-polls short, closes idle
  // connections, lets in-flight requests finish (up to `grace`, then closes
  // what is left) and joins every thread. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(30));

  class Impl;  // server.cpp only

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace outpost::server
