// A TCP relay on 127.0.0.1 that simulates a field link between the
// benchmark's client and its real server: latency each way, a bandwidth
// limit each way, and connections cut at random mid-stream (a 2G or
// satellite link, or a mobile network on a bad day).
//
//   LinkProfile profile;
//   profile.one_way = std::chrono::milliseconds(350);
//   profile.up_bytes_per_second = profile.down_bytes_per_second = 16000;
//   DelayProxy link("127.0.0.1", server_port, profile);
//   open_http_engine("http://127.0.0.1:" + std::to_string(link.port()), ...);
//
// The model, per direction ("up" is client → server, "down" the other way):
// bytes read from one side are serialized onto the link at the profile's
// rate, then take `one_way` to arrive. The rate is shared by every
// connection of the relay, as on a real radio link: a direction has one
// "next free time", so two connections sending at once each get about half
// of it. Bytes are read as they come (the relay queues what the link has
// not carried yet, like a modem's buffer), so a sender is never held back.
// A rate of 0 is unlimited.
//
// Drops, per exchange: an exchange starts with a connection's first bytes
// and at each turn from server → client to client → server (a keep-alive
// client's next request). At the start of each exchange, with probability
// `drop_probability`, the relay schedules a cut after a uniformly random
// number of bytes in [1, drop_window], counted from that point over both
// directions as they reach the relay. If the exchange ends first, the cut
// still comes at that byte count into what follows on the connection (the
// next exchanges); of several cuts scheduled, the earliest wins. The bytes
// up to the cut are passed on, then both sockets are reset (RST): the
// client and the server each see a connection reset, never a clean end.
// So p = 0 never cuts, and p = 1 cuts every connection that carries at
// least drop_window bytes (its first exchange schedules a cut). A link that
// "cuts 10% of connections" bites keep-alive clients as it would one
// connection per request. Each connection draws from an RNG of its own,
// seeded from one seeded with `seed` in accept order, so that a run with
// the same seed and the same traffic cuts at the same points.
//
// Counters (counters(), any thread, any time): connections accepted and cut,
// bytes passed on each way, and exchanges: the times a connection's traffic
// turned from client → server to server → client, i.e. the request/response
// round trips seen on the wire (pipelined or concurrent requests on one
// connection count once per turn; requests on two connections at once count
// once each).
//
// Each accepted connection opens one to the upstream; bytes keep their order.
// A connection idle for kIdleTimeout either way is closed. Finished
// connections are reaped at the next accept; the destructor closes the rest
// and joins their threads. Linux only (shutdown() wakes a blocked accept()).
// Bench code: a failure to start a thread ends the process.
// Thread-safety: port(), counters() and reset_counters() may be called from
// any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace outpost {

struct LinkProfile {
  std::chrono::milliseconds one_way{0};  // latency each way
  uint64_t up_bytes_per_second = 0;      // client → server; 0: unlimited
  uint64_t down_bytes_per_second = 0;    // server → client; 0: unlimited
  double drop_probability = 0;           // of each exchange scheduling a cut, in [0, 1]
  uint64_t drop_window = 256 * 1024;     // a cut comes 1..drop_window bytes after it
  uint64_t seed = 1;                     // of the drops' RNG
};

// What the relay has seen since it started or since reset_counters().
struct LinkCounters {
  uint64_t connections = 0;  // accepted
  uint64_t dropped = 0;      // cut by the relay
  uint64_t bytes_up = 0;     // passed on client → server
  uint64_t bytes_down = 0;   // passed on server → client
  uint64_t exchanges = 0;    // turns from client → server to server → client
};

class DelayProxy {
 public:
  // Listens on a free loopback port. Throws Error(unavailable) if it cannot,
  // Error(invalid_value) for a drop probability outside [0, 1] or a drop
  // window of 0.
  DelayProxy(std::string upstream_host, uint16_t upstream_port, const LinkProfile& profile);
  // Latency only.
  DelayProxy(std::string upstream_host, uint16_t upstream_port, std::chrono::milliseconds one_way);
  ~DelayProxy();
  DelayProxy(const DelayProxy&) = delete;
  DelayProxy& operator=(const DelayProxy&) = delete;

  uint16_t port() const { return port_; }
  LinkCounters counters() const;
  // Sets every counter to 0 (connections open go on counting from there).
  void reset_counters();

  static constexpr std::chrono::seconds kIdleTimeout{120};

  // One direction's share of the link (shared by every connection) and its
  // counter. Internal; public so that the relay's pipes can name it.
  struct Direction;
  // The counters, shared with the connections.
  struct Counters {
    std::atomic<uint64_t> connections{0};
    std::atomic<uint64_t> dropped{0};
    std::atomic<uint64_t> bytes_up{0};
    std::atomic<uint64_t> bytes_down{0};
    std::atomic<uint64_t> exchanges{0};
  };

 private:
  struct Link;
  void accept_loop();

  const std::string upstream_host_;
  const uint16_t upstream_port_;
  const LinkProfile profile_;
  std::unique_ptr<Direction> up_;
  std::unique_ptr<Direction> down_;
  Counters counters_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  bool stopping_ = false;
  std::mt19937_64 rng_;  // under mu_; seeds each connection's own
  std::vector<std::unique_ptr<Link>> links_;
};

}  // namespace outpost
