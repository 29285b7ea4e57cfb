#include "bench/delay_proxy.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>

#include "api/error.h"

namespace outpost {

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& what) {
  throw Error(ErrorCode::unavailable, "delay proxy: " + what + ": " + std::strerror(errno));
}

// No Nagle delay (the relay adds its own), and reads that give up when
// the connection is idle too long.
void prepare(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval idle{};
  idle.tv_sec = DelayProxy::kIdleTimeout.count();
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
}

bool send_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// -1 when the upstream cannot be reached.
int connect_to(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return -1;
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd >= 0 && ::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd >= 0) prepare(fd);
  return fd;
}

// One direction of a connection: the reader stamps what arrives with the
// time it may leave, the writer passes it on when that time comes.
class Pipe {
 public:
  Pipe(int from, int to, std::chrono::milliseconds delay) : from_(from), to_(to), delay_(delay) {
    reader_ = std::thread([this] { read_loop(); });
    writer_ = std::thread([this] { write_loop(); });
  }
  ~Pipe() {
    reader_.join();
    writer_.join();
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;

  // Both threads have returned.
  bool done() const { return finished_.load() == 2; }

 private:
  struct Piece {
    Clock::time_point due;
    std::string bytes;  // empty: the sender is done
  };

  void read_loop() {
    std::string buffer(64 * 1024, '\0');
    for (;;) {
      const ssize_t n = ::recv(from_, buffer.data(), buffer.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      Piece piece{Clock::now() + delay_, n > 0 ? buffer.substr(0, static_cast<size_t>(n)) : ""};
      {
        std::lock_guard lock(mu_);
        pieces_.push_back(std::move(piece));
      }
      cv_.notify_one();
      if (n <= 0) break;  // the end, an error or an idle timeout
    }
    ++finished_;
  }

  void write_loop() {
    for (;;) {
      Piece piece;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return !pieces_.empty(); });
        piece = std::move(pieces_.front());
        pieces_.pop_front();
      }
      std::this_thread::sleep_until(piece.due);
      if (piece.bytes.empty() || !send_all(to_, piece.bytes)) {
        ::shutdown(to_, SHUT_WR);    // pass the end on
        ::shutdown(from_, SHUT_RD);  // and stop the reader, if still reading
        ++finished_;
        return;
      }
    }
  }

  const int from_;
  const int to_;
  const std::chrono::milliseconds delay_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Piece> pieces_;
  std::atomic<int> finished_{0};
  std::thread reader_;
  std::thread writer_;
};

}  // namespace

// A client's connection and the proxy's to the upstream, relayed both ways.
struct DelayProxy::Link {
  Link(int client, int upstream, std::chrono::milliseconds delay)
      : client_fd{client},
        upstream_fd{upstream},
        to_upstream(client, upstream, delay),
        to_client(upstream, client, delay) {}
  bool done() const { return to_upstream.done() && to_client.done(); }
  ~Link() {
    // Ends both directions (the pipes' threads see it and return), then
    // joins them (the members' destructors) before closing.
    ::shutdown(client_fd.fd, SHUT_RDWR);
    ::shutdown(upstream_fd.fd, SHUT_RDWR);
  }
  struct Fds {
    int fd;
    ~Fds() { ::close(fd); }
  };
  Fds client_fd;
  Fds upstream_fd;
  Pipe to_upstream;
  Pipe to_client;
};

DelayProxy::DelayProxy(std::string upstream_host, uint16_t upstream_port,
                       std::chrono::milliseconds one_way)
    : upstream_host_(std::move(upstream_host)), upstream_port_(upstream_port), one_way_(one_way) {
  listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (listener_ < 0) fail("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener_, 16) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int saved = errno;
    ::close(listener_);
    errno = saved;
    fail("listen");
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

DelayProxy::~DelayProxy() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  ::shutdown(listener_, SHUT_RDWR);  // wakes accept()
  acceptor_.join();
  ::close(listener_);
  links_.clear();
}

void DelayProxy::accept_loop() {
  for (;;) {
    const int client = ::accept(listener_, nullptr, nullptr);
    if (client < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // shut down
    }
    std::lock_guard lock(mu_);
    const int upstream = stopping_ ? -1 : connect_to(upstream_host_, upstream_port_);
    if (upstream < 0) {
      ::close(client);
      if (stopping_) return;
      continue;
    }
    prepare(client);
    std::erase_if(links_, [](const std::unique_ptr<Link>& link) { return link->done(); });
    links_.push_back(std::make_unique<Link>(client, upstream, one_way_));
  }
}

}  // namespace outpost
