// Test helpers for the HTTP server: a raw HTTP/1.1 client over a plain or
// TLS socket (so tests can send exactly the bytes they mean, slowly or
// oversized), a temporary directory, and `outpost serve` run as a process.
// Thread-safety: each object belongs to one test thread.
#pragma once

#include <openssl/ssl.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace outpost::test::http {

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  std::string header(const std::string& lower_name) const;
  std::string code() const;  // the "error" member of an error body, or ""
};

// "METHOD TARGET HTTP/1.1" with Host, Content-Type application/json (when a
// body is given), Content-Length and the bearer token (when not empty).
std::string request_text(const std::string& method, const std::string& target,
                         const std::string& body = "", const std::string& token = "",
                         const std::vector<std::string>& extra_headers = {});

// How a Connection connects (all optional).
struct ConnectOptions {
  std::string tls_ca{};   // set: speak TLS, verify the server against this PEM file
  int max_tls = 0;        // cap on the client's TLS version (0: none)
  std::string ciphers{};  // set: offer TLS 1.2 only, with these cipher suites
  std::string source{};   // local address to bind (e.g. "127.0.0.2"; "": any)
  // Pause between the TCP connect and the TLS handshake (a slow client).
  std::chrono::milliseconds handshake_delay{0};
  // Bound on a blocking send (0: none); a send that times out fails.
  std::chrono::milliseconds send_timeout{0};
};

class Connection {
 public:
  // Connects to 127.0.0.1:port; with `tls_ca` set, speaks TLS and verifies
  // the server's certificate against that PEM file. `max_tls` caps the
  // client's protocol version (0: no cap).
  explicit Connection(int port, const std::string& tls_ca = "", int max_tls = 0);
  Connection(int port, const ConnectOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool ok() const { return fd_ >= 0 && (!tls_ || ssl_ != nullptr); }
  // The socket, for tests that drive many plain connections at once.
  int fd() const { return fd_; }
  // Sends all bytes; false when the connection is gone.
  bool send(const std::string& bytes);
  // Reads one response (Content-Length framed); nullopt on close or timeout.
  std::optional<Response> read(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Whether the peer closes (EOF or reset) within `timeout`, with no data.
  bool closed_within(std::chrono::milliseconds timeout);
  // send + read.
  std::optional<Response> roundtrip(const std::string& bytes,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  // Receives into buffer_; 0 on EOF, -2 on timeout, -1 on error.
  int receive(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  bool tls_ = false;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buffer_;
};

// One request on a fresh connection.
std::optional<Response> fetch(int port, const std::string& method, const std::string& target,
                              const std::string& body = "", const std::string& token = "");

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// `outpost ARGS...` with stdout and stderr in files under `dir`.
class Process {
 public:
  Process(const TempDir& dir, const std::vector<std::string>& args, const std::string& name);
  ~Process();  // SIGKILL if still running

  // Waits until stdout holds a line beginning with `prefix`; returns the
  // rest of that line, or nullopt on timeout or exit.
  std::optional<std::string> wait_for_line(const std::string& prefix,
                                           std::chrono::milliseconds timeout);
  std::string out() const;
  std::string err() const;
  void signal(int sig);
  // The exit status (-1: killed by a signal or timeout).
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  pid_t pid() const { return pid_; }  // -1 once it has been waited for

 private:
  pid_t pid_ = -1;
  std::filesystem::path out_;
  std::filesystem::path err_;
};

// Runs `outpost ARGS...` to completion; returns {status, stdout}.
std::pair<int, std::string> run_outpost(const TempDir& dir, const std::vector<std::string>& args);

// `outpost tokens DB_OPTION create ARGS...` (DB_OPTION: "--db=URL"); the
// secret it prints, or "" when it fails.
std::string create_token(const TempDir& dir, const std::string& db_option,
                         const std::vector<std::string>& args);

// `serve` started on port 0: the port and the admin token (if printed).
struct Served {
  int port = 0;
  std::string admin_token;
};
std::optional<Served> wait_served(Process& process, bool expect_token,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(30));

// A throwaway self-signed certificate for 127.0.0.1 made with `openssl req`.
struct TestCertificate {
  std::string cert;
  std::string key;
};
TestCertificate make_certificate(const TempDir& dir);

}  // namespace outpost::test::http
