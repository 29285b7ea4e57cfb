// The benchmark's slow link: bytes pass both ways intact and in order, each
// way no sooner than the delay, and an end on one side reaches the other.
#include "bench/delay_proxy.h"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

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

}  // namespace outpost::test
