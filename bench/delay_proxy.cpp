#include "bench/delay_proxy.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>

#include "api/error.h"

namespace outpost {

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

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

// Resets `fd`'s connection: the peer sees ECONNRESET. A reader blocked on
// it wakes (SHUT_RD); the disconnect (connect to AF_UNSPEC) sends the RST
// at once, and the linger of 0 makes the later close() abortive too.
void reset(int fd) {
  linger abort_on_close{};
  abort_on_close.l_onoff = 1;
  abort_on_close.l_linger = 0;
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
  ::shutdown(fd, SHUT_RD);
  sockaddr unspecified{};
  unspecified.sa_family = AF_UNSPEC;
  ::connect(fd, &unspecified, sizeof unspecified);
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

class Pipe;

// What one read may pass on (Connection::admit).
struct Passage {
  size_t pass = 0;    // bytes of it to pass on
  bool cut = false;   // the connection is cut once they are out
  bool stop = false;  // the other way reached the cut first: pass nothing, stop reading
};

// What the two directions of one connection share: where its cut falls,
// how many bytes it has carried so far, which way the last bytes went, and
// whether it has ended.
struct Connection {
  Connection(int client, int upstream, const LinkProfile& profile, uint64_t seed,
             DelayProxy::Counters& counters)
      : client_fd(client),
        upstream_fd(upstream),
        drop_probability(profile.drop_probability),
        drop_window(profile.drop_window),
        counters(counters),
        rng(seed) {}

  // `size` bytes were just read going up (client → server) or down: starts
  // an exchange (and may schedule a cut) when they are the connection's
  // first or the first up after bytes went down, counts the exchanges, and
  // says how many of them to pass on.
  Passage admit(bool up, size_t size) {
    std::lock_guard lock(mu);
    if (seen >= cut_at) return Passage{0, false, true};
    if (!any || (up && !last_up)) {
      if (drop_probability > 0 && std::bernoulli_distribution(drop_probability)(rng)) {
        const uint64_t after = std::uniform_int_distribution<uint64_t>(1, drop_window)(rng);
        cut_at = std::min(cut_at, seen + after);
      }
    }
    if (!up && last_up) ++counters.exchanges;
    any = true;
    last_up = up;
    const uint64_t before = seen;
    seen += size;
    if (seen < cut_at) return Passage{size, false, false};
    return Passage{static_cast<size_t>(cut_at - before), true, false};
  }

  // Stops both pipes' writers at once, dropping what they hold.
  void stop();
  // The relay's cut: both sockets reset, both pipes stopped.
  void cut() {
    if (cut_done.exchange(true)) return;
    ++counters.dropped;
    reset(client_fd);
    reset(upstream_fd);
    stop();
  }

  const int client_fd;
  const int upstream_fd;
  const double drop_probability;
  const uint64_t drop_window;
  DelayProxy::Counters& counters;
  std::atomic<bool> stopped{false};
  std::atomic<bool> cut_done{false};
  Pipe* pipes[2] = {nullptr, nullptr};

 private:
  std::mutex mu;
  std::mt19937_64 rng;       // under mu
  uint64_t seen = 0;         // under mu: bytes read, both ways
  uint64_t cut_at = kNever;  // under mu: the byte count at which the cut falls
  bool any = false;          // under mu: bytes have been read
  bool last_up = false;      // under mu: the last bytes read went client → server
};

}  // namespace

struct DelayProxy::Direction {
  Direction(uint64_t rate, std::chrono::milliseconds one_way, std::atomic<uint64_t>& bytes)
      : bytes_per_second(rate), one_way(one_way), bytes(bytes) {}

  // When `size` bytes read now reach the other side: after the bytes
  // queued before them have been carried, their own serialization time,
  // and the latency.
  Clock::time_point schedule(size_t size) {
    const Clock::time_point now = Clock::now();
    if (bytes_per_second == 0) return now + one_way;
    std::lock_guard lock(mu);
    const Clock::time_point start = std::max(now, next_free);
    next_free = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                            static_cast<double>(size) / static_cast<double>(bytes_per_second)));
    return next_free + one_way;
  }

  // Bytes read at a time: about 20 ms of the link on a limited one, so that
  // bytes trickle through as on a real link rather than in large steps.
  size_t slice() const {
    constexpr size_t kMax = 64 * 1024;
    if (bytes_per_second == 0) return kMax;
    return std::clamp<size_t>(static_cast<size_t>(bytes_per_second / 50), 512, kMax);
  }

  const uint64_t bytes_per_second;  // 0: unlimited
  const std::chrono::milliseconds one_way;
  std::atomic<uint64_t>& bytes;  // passed on this way
  std::mutex mu;
  Clock::time_point next_free{};  // when the link has carried what it holds
};

namespace {

// One direction of a connection: the reader stamps what arrives with the
// time it may leave, the writer passes it on when that time comes.
class Pipe {
 public:
  Pipe(int from, int to, bool up, DelayProxy::Direction& direction, Connection& connection)
      : from_(from), to_(to), up_(up), direction_(direction), connection_(connection) {}
  ~Pipe() {
    if (reader_.joinable()) reader_.join();
    if (writer_.joinable()) writer_.join();
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;

  void start() {
    reader_ = std::thread([this] { read_loop(); });
    writer_ = std::thread([this] { write_loop(); });
  }
  // Wakes the writer to see the connection stopped.
  void wake() {
    { std::lock_guard lock(mu_); }
    cv_.notify_all();
  }
  // Both threads have returned.
  bool done() const { return finished_.load() == 2; }

 private:
  struct Piece {
    Clock::time_point due;
    std::string bytes;  // empty and not `cut`: the sender is done
    bool cut = false;   // the connection is cut once these bytes are out
  };

  void push(Piece piece) {
    {
      std::lock_guard lock(mu_);
      pieces_.push_back(std::move(piece));
    }
    cv_.notify_all();
  }

  void read_loop() {
    std::string buffer(direction_.slice(), '\0');
    for (;;) {
      const ssize_t n = ::recv(from_, buffer.data(), buffer.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (connection_.stopped.load()) break;
      if (n <= 0) {  // the end, an error or an idle timeout
        push(Piece{direction_.schedule(0), {}, false});
        break;
      }
      const Passage passage = connection_.admit(up_, static_cast<size_t>(n));
      if (passage.stop) break;  // the other way cuts
      push(Piece{direction_.schedule(passage.pass), buffer.substr(0, passage.pass), passage.cut});
      if (passage.cut) break;
    }
    ++finished_;
  }

  void write_loop() {
    auto stopped = [&] { return connection_.stopped.load(); };
    for (;;) {
      Piece piece;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return !pieces_.empty() || stopped(); });
        if (stopped()) break;
        piece = std::move(pieces_.front());
        pieces_.pop_front();
        if (cv_.wait_until(lock, piece.due, stopped)) break;
      }
      // Counted before it goes: once the other side has read it, the
      // counter shows it.
      direction_.bytes += piece.bytes.size();
      if (!piece.bytes.empty() && send_all(to_, piece.bytes) && !piece.cut) continue;
      if (piece.cut) {
        connection_.cut();
        break;
      }
      ::shutdown(to_, SHUT_WR);    // pass the end on
      ::shutdown(from_, SHUT_RD);  // and stop the reader, if still reading
      break;
    }
    ++finished_;
  }

  const int from_;
  const int to_;
  const bool up_;
  DelayProxy::Direction& direction_;
  Connection& connection_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Piece> pieces_;
  std::atomic<int> finished_{0};
  std::thread reader_;
  std::thread writer_;
};

void Connection::stop() {
  stopped.store(true);
  for (Pipe* pipe : pipes) pipe->wake();
}

}  // namespace

// A client's connection and the proxy's to the upstream, relayed both ways.
struct DelayProxy::Link {
  Link(int client, int upstream, const LinkProfile& profile, uint64_t seed, Direction& up,
       Direction& down, Counters& counters)
      : client_fd{client},
        upstream_fd{upstream},
        connection(client, upstream, profile, seed, counters),
        to_upstream(client, upstream, true, up, connection),
        to_client(upstream, client, false, down, connection) {
    connection.pipes[0] = &to_upstream;
    connection.pipes[1] = &to_client;
    to_upstream.start();
    to_client.start();
  }
  bool done() const { return to_upstream.done() && to_client.done(); }
  ~Link() {
    // Stops the writers and ends both directions (the readers see it and
    // return), then joins them (the pipes' destructors) before closing.
    connection.stop();
    ::shutdown(client_fd.fd, SHUT_RDWR);
    ::shutdown(upstream_fd.fd, SHUT_RDWR);
  }
  struct Fds {
    int fd;
    ~Fds() { ::close(fd); }
  };
  Fds client_fd;
  Fds upstream_fd;
  Connection connection;
  Pipe to_upstream;
  Pipe to_client;
};

DelayProxy::DelayProxy(std::string upstream_host, uint16_t upstream_port,
                       std::chrono::milliseconds one_way)
    : DelayProxy(std::move(upstream_host), upstream_port, LinkProfile{.one_way = one_way}) {}

DelayProxy::DelayProxy(std::string upstream_host, uint16_t upstream_port,
                       const LinkProfile& profile)
    : upstream_host_(std::move(upstream_host)),
      upstream_port_(upstream_port),
      profile_(profile),
      rng_(profile.seed) {
  if (!(profile.drop_probability >= 0 && profile.drop_probability <= 1)) {
    throw Error(ErrorCode::invalid_value, "delay proxy: drop probability " +
                                              std::to_string(profile.drop_probability) +
                                              " is outside [0, 1]");
  }
  if (profile.drop_window == 0) {
    throw Error(ErrorCode::invalid_value, "delay proxy: the drop window must be at least 1 byte");
  }
  up_ =
      std::make_unique<Direction>(profile.up_bytes_per_second, profile.one_way, counters_.bytes_up);
  down_ = std::make_unique<Direction>(profile.down_bytes_per_second, profile.one_way,
                                      counters_.bytes_down);
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

LinkCounters DelayProxy::counters() const {
  LinkCounters c;
  c.connections = counters_.connections.load();
  c.dropped = counters_.dropped.load();
  c.bytes_up = counters_.bytes_up.load();
  c.bytes_down = counters_.bytes_down.load();
  c.exchanges = counters_.exchanges.load();
  return c;
}

void DelayProxy::reset_counters() {
  counters_.connections = 0;
  counters_.dropped = 0;
  counters_.bytes_up = 0;
  counters_.bytes_down = 0;
  counters_.exchanges = 0;
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
    ++counters_.connections;
    const uint64_t seed = rng_();
    std::erase_if(links_, [](const std::unique_ptr<Link>& link) { return link->done(); });
    links_.push_back(
        std::make_unique<Link>(client, upstream, profile_, seed, *up_, *down_, counters_));
  }
}

}  // namespace outpost
