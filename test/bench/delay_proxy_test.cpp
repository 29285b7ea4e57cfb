// The benchmark's field link: bytes pass both ways intact and in order, each
// way no sooner than the delay and no faster than the bandwidth limit, an end
// on one side reaches the other, exchanges chosen to drop reset their
// connection within the window, and the counters show what went over the link. Times are
// only checked from below (the link is never faster than its profile).
#include "bench/delay_proxy.h"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/error.h"

namespace outpost::test {

namespace {

using Clock = std::chrono::steady_clock;

// Reads on `fd` give up after 10 s, so that a broken relay fails the test
// instead of hanging it.
void bound_reads(int fd) {
  timeval limit{};
  limit.tv_sec = 10;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
}

// A server on 127.0.0.1 that accepts one connection and echoes it back
// until the client is done, then closes; it notes how many bytes it saw.
class EchoServer {
 public:
  EchoServer() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listener_, 4) == 0);
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      bound_reads(fd);
      char buffer[16 * 1024];
      for (;;) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        seen_ += static_cast<size_t>(n);
        if (::send(fd, buffer, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
      }
      ::close(fd);
    });
  }
  ~EchoServer() {
    ::shutdown(listener_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    ::close(listener_);
  }
  uint16_t port() const { return port_; }
  // The bytes it received; call after the connection has ended.
  size_t seen() {
    if (thread_.joinable()) thread_.join();
    return seen_;
  }

 private:
  int listener_ = -1;
  uint16_t port_ = 0;
  size_t seen_ = 0;
  std::thread thread_;
};

// A server on 127.0.0.1 that echoes every connection it accepts, each on a
// thread of its own, until the client is done or the connection breaks.
class MultiEchoServer {
 public:
  MultiEchoServer() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listener_, 16) == 0);
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] {
      for (;;) {
        const int fd = ::accept(listener_, nullptr, nullptr);
        if (fd < 0) return;
        bound_reads(fd);
        sessions_.emplace_back([fd] {
          char buffer[16 * 1024];
          for (;;) {
            const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
            if (n <= 0) break;
            if (::send(fd, buffer, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
          }
          ::close(fd);
        });
      }
    });
  }
  ~MultiEchoServer() {
    ::shutdown(listener_, SHUT_RDWR);
    acceptor_.join();
    for (std::thread& t : sessions_) t.join();
    ::close(listener_);
  }
  uint16_t port() const { return port_; }

 private:
  int listener_ = -1;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::vector<std::thread> sessions_;  // the acceptor's only
};

int connect_to(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  bound_reads(fd);
  return fd;
}

// Sends all of `bytes` (false if the connection broke).
bool send_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Reads exactly `size` bytes, or fewer if the peer ends first.
std::string read_exactly(int fd, size_t size) {
  std::string out;
  char buffer[16 * 1024];
  while (out.size() < size) {
    const ssize_t n = ::recv(fd, buffer, std::min(sizeof buffer, size - out.size()), 0);
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

TEST_CASE("delay proxy: a round trip takes at least twice the delay, bytes intact and in order") {
  EchoServer echo;
  const auto one_way = std::chrono::milliseconds(40);
  DelayProxy link("127.0.0.1", echo.port(), one_way);
  const int fd = connect_to(link.port());

  const auto start = Clock::now();
  REQUIRE(::send(fd, "ping", 4, MSG_NOSIGNAL) == 4);
  CHECK(read_exactly(fd, 4) == "ping");
  CHECK(Clock::now() - start >= 2 * one_way);

  // A megabyte in many pieces comes back whole, in order.
  std::string big;
  for (int i = 0; big.size() < (1 << 20); ++i) big += std::to_string(i) + ",";
  std::thread sender([&] {
    size_t done = 0;
    while (done < big.size()) {
      const ssize_t n =
          ::send(fd, big.data() + done, std::min<size_t>(7000, big.size() - done), MSG_NOSIGNAL);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
  });
  CHECK(read_exactly(fd, big.size()) == big);
  sender.join();

  // The client's end reaches the server, whose end comes back.
  ::shutdown(fd, SHUT_WR);
  CHECK(read_exactly(fd, 1).empty());
  CHECK(echo.seen() == 4 + big.size());
  ::close(fd);
}

TEST_CASE("delay proxy: stopping with connections open ends them") {
  EchoServer echo;
  int fd = -1;
  {
    DelayProxy link("127.0.0.1", echo.port(), std::chrono::milliseconds(10));
    fd = connect_to(link.port());
    REQUIRE(::send(fd, "x", 1, MSG_NOSIGNAL) == 1);
    CHECK(read_exactly(fd, 1) == "x");
  }
  // The proxy is gone: the client sees its connection end.
  CHECK(read_exactly(fd, 1).empty());
  ::close(fd);
}

TEST_CASE("delay proxy: the counters show connections, bytes each way and exchanges") {
  EchoServer echo;
  const auto one_way = std::chrono::milliseconds(10);
  DelayProxy link("127.0.0.1", echo.port(), LinkProfile{.one_way = one_way});
  CHECK(link.counters().connections == 0);
  const int fd = connect_to(link.port());

  // Three request/response turns: "a", "bb", "ccc".
  const auto start = Clock::now();
  for (const std::string message : {"a", "bb", "ccc"}) {
    REQUIRE(send_all(fd, message));
    CHECK(read_exactly(fd, message.size()) == message);
  }
  CHECK(Clock::now() - start >= 3 * 2 * one_way);
  LinkCounters c = link.counters();
  CHECK(c.connections == 1);
  CHECK(c.dropped == 0);
  CHECK(c.bytes_up == 6);
  CHECK(c.bytes_down == 6);
  CHECK(c.exchanges == 3);

  // reset_counters() starts a phase from 0; the open connection counts on.
  link.reset_counters();
  c = link.counters();
  CHECK(c.connections == 0);
  CHECK(c.bytes_up == 0);
  CHECK(c.exchanges == 0);
  REQUIRE(send_all(fd, "dddd"));
  CHECK(read_exactly(fd, 4) == "dddd");
  c = link.counters();
  CHECK(c.connections == 0);
  CHECK(c.bytes_up == 4);
  CHECK(c.bytes_down == 4);
  CHECK(c.exchanges == 1);
  ::shutdown(fd, SHUT_WR);
  CHECK(read_exactly(fd, 1).empty());
  ::close(fd);
}

TEST_CASE("delay proxy: a limited link carries size / rate seconds' worth no faster") {
  // A lower bound only: the link may be slower on a busy machine, never
  // faster. 1 ms of slack for the rounding of each slice's time.
  constexpr uint64_t kRate = 100'000;  // bytes per second, each way
  LinkProfile profile;
  profile.up_bytes_per_second = kRate;
  profile.down_bytes_per_second = kRate;
  const std::string payload(50'000, 'x');
  const auto at_least = std::chrono::duration<double>(static_cast<double>(payload.size()) / kRate) -
                        std::chrono::milliseconds(1);

  SUBCASE("one connection, both ways") {
    EchoServer echo;
    DelayProxy link("127.0.0.1", echo.port(), profile);
    const int fd = connect_to(link.port());
    const auto start = Clock::now();
    REQUIRE(send_all(fd, payload));
    CHECK(read_exactly(fd, payload.size()) == payload);
    CHECK(Clock::now() - start >= at_least);
    CHECK(link.counters().bytes_up == payload.size());
    CHECK(link.counters().bytes_down == payload.size());
    ::close(fd);
  }

  SUBCASE("two connections share the rate") {
    MultiEchoServer echo;
    DelayProxy link("127.0.0.1", echo.port(), profile);
    const std::string half(payload.size() / 2, 'y');
    const int a = connect_to(link.port());
    const int b = connect_to(link.port());
    const auto start = Clock::now();
    REQUIRE(send_all(a, half));
    REQUIRE(send_all(b, half));
    CHECK(read_exactly(a, half.size()) == half);
    CHECK(read_exactly(b, half.size()) == half);
    CHECK(Clock::now() - start >= at_least);
    CHECK(link.counters().connections == 2);
    CHECK(link.counters().bytes_down == payload.size());
    ::close(a);
    ::close(b);
  }
}

namespace {

struct Conversation {
  size_t received = 0;  // echoed bytes the client got
  bool broken = false;  // the connection failed before the client was done
  int error = 0;        // errno of the failed read, 0 for a clean end
};

// Sends `total` bytes in pieces of 100, reading each echo back, until done
// or the connection breaks.
Conversation converse(uint16_t port, size_t total) {
  Conversation c;
  const int fd = connect_to(port);
  const std::string piece(100, 'p');
  while (c.received < total) {
    if (!send_all(fd, piece)) {
      c.broken = true;
      c.error = errno;
      break;
    }
    char buffer[100];
    size_t got = 0;
    while (got < piece.size()) {
      const ssize_t n = ::recv(fd, buffer, piece.size() - got, 0);
      if (n <= 0) {
        c.broken = true;
        c.error = n < 0 ? errno : 0;
        break;
      }
      got += static_cast<size_t>(n);
    }
    c.received += got;
    if (c.broken) break;
  }
  ::close(fd);
  return c;
}

}  // namespace

TEST_CASE("delay proxy: drops cut chosen connections within their window") {
  MultiEchoServer echo;
  constexpr uint64_t kWindow = 2000;
  constexpr size_t kConnections = 5;
  constexpr size_t kBytes = 3 * kWindow;  // each client's conversation, more than a window
  LinkProfile profile;
  profile.drop_window = kWindow;
  profile.seed = 42;

  SUBCASE("p = 1: every connection is reset before its window is through") {
    profile.drop_probability = 1;
    DelayProxy link("127.0.0.1", echo.port(), profile);
    for (size_t i = 0; i < kConnections; ++i) {
      const Conversation c = converse(link.port(), kBytes);
      CHECK(c.broken);
      CHECK(c.error == ECONNRESET);  // a reset, not a clean end
      // Both directions count: what came back is at most the window.
      CHECK(c.received <= kWindow);
    }
    const LinkCounters counters = link.counters();
    CHECK(counters.connections == kConnections);
    CHECK(counters.dropped == kConnections);
    CHECK(counters.bytes_up + counters.bytes_down <= kConnections * kWindow);
  }

  SUBCASE("p = 0: no connection is cut") {
    profile.drop_probability = 0;
    DelayProxy link("127.0.0.1", echo.port(), profile);
    for (size_t i = 0; i < kConnections; ++i) {
      const Conversation c = converse(link.port(), kBytes);
      CHECK_FALSE(c.broken);
      CHECK(c.received == kBytes);
    }
    const LinkCounters counters = link.counters();
    CHECK(counters.connections == kConnections);
    CHECK(counters.dropped == 0);
    CHECK(counters.bytes_up == kConnections * kBytes);
    CHECK(counters.bytes_down == kConnections * kBytes);
    CHECK(counters.exchanges == kConnections * (kBytes / 100));
  }
}

namespace {

// What a keep-alive client saw over a dropping link (keep_alive_exchanges).
struct ExchangeTally {
  size_t completed = 0;        // exchanges whose echo came back whole
  size_t cut = 0;              // exchanges that ended in a reset
  size_t cut_after_first = 0;  // of those, on a connection that had completed one before
  size_t clean_ends = 0;       // exchanges that ended without a reset (none expected)
  size_t connections = 0;      // opened
};

// `total` exchanges of 100 bytes echoed back, on one connection after
// another: a connection is kept until it breaks, then a new one is opened
// for the next exchange (as an HTTP client's pool does).
ExchangeTally keep_alive_exchanges(uint16_t port, size_t total) {
  ExchangeTally tally;
  const std::string piece(100, 'k');
  int fd = -1;
  size_t on_this_connection = 0;
  for (size_t i = 0; i < total; ++i) {
    if (fd < 0) {
      fd = connect_to(port);
      ++tally.connections;
      on_this_connection = 0;
    }
    bool broken = !send_all(fd, piece);
    int error = broken ? errno : 0;
    size_t got = 0;
    while (!broken && got < piece.size()) {
      char buffer[100];
      const ssize_t n = ::recv(fd, buffer, piece.size() - got, 0);
      if (n <= 0) {
        broken = true;
        error = n < 0 ? errno : 0;
      } else {
        got += static_cast<size_t>(n);
      }
    }
    if (!broken) {
      ++tally.completed;
      ++on_this_connection;
      continue;
    }
    if (error == ECONNRESET || error == EPIPE) {
      ++tally.cut;
      if (on_this_connection > 0) ++tally.cut_after_first;
    } else {
      ++tally.clean_ends;
    }
    ::close(fd);
    fd = -1;
  }
  if (fd >= 0) ::close(fd);
  return tally;
}

}  // namespace

TEST_CASE("delay proxy: drops are drawn per exchange, so keep-alive connections are cut too") {
  // Each exchange (100 bytes up, 100 down) schedules a cut with p = 0.5,
  // within 150 bytes: inside that same exchange. Seeded, so the outcome is
  // fixed; the bounds hold for any seed but the unluckiest.
  MultiEchoServer echo;
  constexpr size_t kExchanges = 60;
  LinkProfile profile;
  profile.drop_probability = 0.5;
  profile.drop_window = 150;
  profile.seed = 17;
  DelayProxy link("127.0.0.1", echo.port(), profile);
  const ExchangeTally tally = keep_alive_exchanges(link.port(), kExchanges);
  INFO("completed ", tally.completed, ", cut ", tally.cut, " (", tally.cut_after_first,
       " after the connection's first exchange)");
  CHECK(tally.clean_ends == 0);
  CHECK(tally.completed + tally.cut == kExchanges);
  // Some, not all.
  CHECK(tally.cut >= kExchanges / 6);
  CHECK(tally.completed >= kExchanges / 6);
  // A connection that carried exchanges whole is cut later all the same:
  // the draw is not made once per connection.
  CHECK(tally.cut_after_first > 0);

  const LinkCounters counters = link.counters();
  CHECK(counters.dropped == tally.cut);
  // A new connection after each cut.
  CHECK(counters.connections == tally.connections);
  CHECK(tally.connections >= tally.cut);
  CHECK(counters.exchanges >= tally.completed);
  CHECK(counters.exchanges <= kExchanges);
  CHECK(counters.bytes_down >= tally.completed * 100);
}

TEST_CASE("delay proxy: a drop probability outside [0, 1] or an empty window is refused") {
  LinkProfile profile;
  profile.drop_probability = 1.5;
  CHECK_THROWS_AS(DelayProxy("127.0.0.1", 1, profile), Error);
  profile.drop_probability = 0.5;
  profile.drop_window = 0;
  CHECK_THROWS_AS(DelayProxy("127.0.0.1", 1, profile), Error);
}

}  // namespace outpost::test
