// A tiny HTTP/1.1 server on 127.0.0.1 for the client's transport tests: one
// thread, blocking POSIX sockets, one connection at a time, answers from a
// handler. It counts connections and requests so tests can assert what the
// client did on the wire (keep-alive reuse, retries, no retry on 4xx).
// Thread-safety: counters are atomics; the handler runs on the server thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

namespace outpost::test {

class TinyServer {
 public:
  struct Reply {
    std::string raw;      // the whole response text, status line to body
    bool close = false;   // close the connection after writing it
    bool silent = false;  // write nothing, keep the connection open (a hung server)
  };
  // Gets the request text (head and body); returns the reply.
  using Handler = std::function<Reply(const std::string& request)>;

  // Listens on 127.0.0.1:`port` (0: any free port).
  explicit TinyServer(Handler handler, uint16_t port = 0);
  ~TinyServer();
  TinyServer(const TinyServer&) = delete;
  TinyServer& operator=(const TinyServer&) = delete;

  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::atomic<int> connections{0};
  std::atomic<int> requests{0};

  // "HTTP/1.1 <status> X\r\nContent-Type: application/json\r\nContent-Length: N\r\n\r\n<body>".
  static std::string response(int status, const std::string& body);

 private:
  void serve();
  void serve_connection(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A port nothing listens on right now (bound and released).
uint16_t free_port();

}  // namespace outpost::test
