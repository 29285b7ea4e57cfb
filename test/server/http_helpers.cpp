#include "server/http_helpers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <thread>

#include "api/json.h"

extern char** environ;

namespace outpost::test::http {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr int kTimedOut = -2;

std::string Response::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

std::string Response::code() const {
  if (status < 400) return "";
  try {
    return std::string(error_from_json(body).code_name());
  } catch (...) {
    return "(not an error body)";
  }
}

std::string request_text(const std::string& method, const std::string& target,
                         const std::string& body, const std::string& token,
                         const std::vector<std::string>& extra_headers) {
  std::string text = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!token.empty()) text += "Authorization: Bearer " + token + "\r\n";
  bool has_type = false;
  for (const std::string& h : extra_headers) {
    text += h + "\r\n";
    std::string lower = h;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (lower.rfind("content-type:", 0) == 0) has_type = true;
  }
  if (!body.empty() || method == "POST" || method == "PUT") {
    if (!has_type) text += "Content-Type: application/json\r\n";
    text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  text += "\r\n" + body;
  return text;
}

Connection::Connection(int port, const std::string& tls_ca, int max_tls)
    : Connection(port, ConnectOptions{.tls_ca = tls_ca, .max_tls = max_tls}) {}

Connection::Connection(int port, const ConnectOptions& options) {
  const std::string& tls_ca = options.tls_ca;
  const int max_tls = options.max_tls;
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) return;
  if (!options.source.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    if (::inet_pton(AF_INET, options.source.c_str(), &local.sin_addr) != 1 ||
        ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
  }
  if (options.send_timeout.count() > 0) {
    timeval tv{static_cast<time_t>(options.send_timeout.count() / 1000),
               static_cast<suseconds_t>(options.send_timeout.count() % 1000 * 1000)};
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (tls_ca.empty()) return;
  if (options.handshake_delay.count() > 0) std::this_thread::sleep_for(options.handshake_delay);
  tls_ = true;
  ctx_ = SSL_CTX_new(TLS_client_method());
  SSL_CTX_load_verify_locations(ctx_, tls_ca.c_str(), nullptr);
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  if (max_tls) {
    SSL_CTX_set_min_proto_version(ctx_, 0);
    SSL_CTX_set_max_proto_version(ctx_, max_tls);
    SSL_CTX_set_security_level(ctx_, 0);
  }
  if (!options.ciphers.empty()) {
    SSL_CTX_set_max_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_security_level(ctx_, 0);
    SSL_CTX_set_cipher_list(ctx_, options.ciphers.c_str());
  }
  SSL* ssl = SSL_new(ctx_);
  SSL_set_fd(ssl, fd_);
  SSL_set1_host(ssl, "127.0.0.1");
  if (SSL_connect(ssl) == 1) {
    ssl_ = ssl;
  } else {
    SSL_free(ssl);
  }
}

Connection::~Connection() {
  if (ssl_) SSL_free(ssl_);
  if (ctx_) SSL_CTX_free(ctx_);
  if (fd_ >= 0) ::close(fd_);
}

bool Connection::send(const std::string& bytes) {
  if (!ok()) return false;
  size_t sent = 0;
  while (sent < bytes.size()) {
    int n =
        tls_
            ? SSL_write(ssl_, bytes.data() + sent, static_cast<int>(bytes.size() - sent))
            : static_cast<int>(::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL));
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

int Connection::receive(Clock::time_point deadline) {
  if (!ok()) return -1;
  if (tls_ && SSL_pending(ssl_) > 0) {
    char buf[16384];
    int n = SSL_read(ssl_, buf, sizeof buf);
    if (n > 0) buffer_.append(buf, static_cast<size_t>(n));
    return n > 0 ? n : 0;
  }
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return kTimedOut;
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()) + 1);
    if (r < 0) return -1;
    if (r == 0) continue;
    char buf[16384];
    if (tls_) {
      int n = SSL_read(ssl_, buf, sizeof buf);
      if (n > 0) {
        buffer_.append(buf, static_cast<size_t>(n));
        return n;
      }
      int err = SSL_get_error(ssl_, n);
      if (err == SSL_ERROR_WANT_READ) continue;
      return 0;
    }
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      buffer_.append(buf, static_cast<size_t>(n));
      return static_cast<int>(n);
    }
    return 0;
  }
}

std::optional<Response> Connection::read(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (receive(deadline) <= 0) return std::nullopt;
  }
  Response response;
  std::istringstream head(buffer_.substr(0, end));
  std::string line;
  std::getline(head, line);
  if (line.size() < 12) return std::nullopt;
  response.status = std::stoi(line.substr(9, 3));
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    response.headers[name] = value;
  }
  size_t length = std::stoul(
      response.header("content-length").empty() ? "0" : response.header("content-length"));
  size_t body_start = end + 4;
  while (buffer_.size() < body_start + length) {
    if (receive(deadline) <= 0) return std::nullopt;
  }
  response.body = buffer_.substr(body_start, length);
  buffer_.erase(0, body_start + length);
  return response;
}

bool Connection::closed_within(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  size_t before = buffer_.size();
  for (;;) {
    int n = receive(deadline);
    if (n == 0) return buffer_.size() == before;
    if (n == kTimedOut) return false;
    if (n < 0) return true;  // a reset counts as closed
  }
}

std::optional<Response> Connection::roundtrip(const std::string& bytes,
                                              std::chrono::milliseconds timeout) {
  if (!send(bytes)) return std::nullopt;
  return read(timeout);
}

std::optional<Response> fetch(int port, const std::string& method, const std::string& target,
                              const std::string& body, const std::string& token) {
  Connection c(port);
  return c.roundtrip(request_text(method, target, body, token));
}

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "outpost-srv-XXXXXX").string();
  char* made = ::mkdtemp(pattern.data());
  if (made) path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) fs::remove_all(path_, ec);
}

Process::Process(const TempDir& dir, const std::vector<std::string>& args, const std::string& name)
    : out_(dir.path() / (name + ".stdout")), err_(dir.path() / (name + ".stderr")) {
  std::vector<std::string> argv_text{OUTPOST_BINARY};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_text) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** env = environ; *env != nullptr; ++env) {
    if (std::string_view(*env).substr(0, 11) != "OUTPOST_DB=") envp.push_back(*env);
  }
  envp.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    int out = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || err < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0) {
      _exit(127);
    }
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
}

Process::~Process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

namespace {
std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}
}  // namespace

std::string Process::out() const { return read_all(out_); }
std::string Process::err() const { return read_all(err_); }

std::optional<std::string> Process::wait_for_line(const std::string& prefix,
                                                  std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    std::istringstream lines(out());
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind(prefix, 0) == 0 && !lines.eof()) return line.substr(prefix.size());
    }
    if (pid_ > 0) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return std::nullopt;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::nullopt;
}

void Process::signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

int Process::wait(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (pid_ > 0) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    if (Clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      pid_ = -1;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

std::pair<int, std::string> run_outpost(const TempDir& dir, const std::vector<std::string>& args) {
  static int counter = 0;
  Process p(dir, args, "run" + std::to_string(++counter));
  int status = p.wait(std::chrono::seconds(60));
  return {status, p.out()};
}

std::string create_token(const TempDir& dir, const std::string& db_option,
                         const std::vector<std::string>& args) {
  std::vector<std::string> command{"tokens", db_option, "create"};
  command.insert(command.end(), args.begin(), args.end());
  auto [status, secret] = run_outpost(dir, command);
  if (status != 0) return "";
  while (!secret.empty() && secret.back() == '\n') secret.pop_back();
  return secret;
}

std::optional<Served> wait_served(Process& process, bool expect_token,
                                  std::chrono::milliseconds timeout) {
  Served served;
  auto listening = process.wait_for_line("listening on ", timeout);
  if (!listening) return std::nullopt;
  size_t colon = listening->rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  served.port = std::stoi(listening->substr(colon + 1));
  if (expect_token) {
    auto token = process.wait_for_line("admin token: ", std::chrono::seconds(1));
    if (!token) return std::nullopt;
    served.admin_token = *token;
  }
  return served;
}

TestCertificate make_certificate(const TempDir& dir) {
  TestCertificate out{(dir.path() / "cert.pem").string(), (dir.path() / "key.pem").string()};
  std::string command =
      "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -days 1 -keyout '" +
      out.key + "' -out '" + out.cert + "' >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) return {};
  return out;
}

}  // namespace outpost::test::http
