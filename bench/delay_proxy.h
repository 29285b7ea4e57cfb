// A TCP relay on 127.0.0.1 that holds every byte for a fixed time in each
// direction before passing it on: a slow link (a satellite or a congested
// mobile network) between the benchmark's client and its real server. It
// adds latency only, never loss or a bandwidth limit.
//
//   DelayProxy link("127.0.0.1", server_port, std::chrono::milliseconds(25));
//   open_http_engine("http://127.0.0.1:" + std::to_string(link.port()), ...);
//
// Each accepted connection opens one to the upstream; bytes keep their order.
// A connection idle for kIdleTimeout either way is closed; what is held is
// at most what arrives within one delay. Finished connections are reaped at
// the next accept; the destructor closes the rest and joins their threads.
// Linux only (shutdown() wakes a blocked accept()). Bench code: a failure to
// start a thread ends the process.
// Thread-safety: port() may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace outpost {

class DelayProxy {
 public:
  // Listens on a free loopback port. Throws Error(unavailable) if it cannot.
  DelayProxy(std::string upstream_host, uint16_t upstream_port, std::chrono::milliseconds one_way);
  ~DelayProxy();
  DelayProxy(const DelayProxy&) = delete;
  DelayProxy& operator=(const DelayProxy&) = delete;

  uint16_t port() const { return port_; }

  static constexpr std::chrono::seconds kIdleTimeout{120};

 private:
  struct Link;
  void accept_loop();

  const std::string upstream_host_;
  const uint16_t upstream_port_;
  const std::chrono::milliseconds one_way_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  bool stopping_ = false;
  std::vector<std::unique_ptr<Link>> links_;
};

}  // namespace outpost
