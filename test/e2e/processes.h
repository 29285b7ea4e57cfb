// End-to-end test infrastructure: the real `outpost` binary (OUTPOST_BINARY)
// run as a subprocess — `outpost serve` started on 127.0.0.1 port 0 and
// read for its URL and admin token, and one-shot commands (`tokens
// create`, `sync`) — plus a private temporary directory and a self-signed
// certificate for TLS runs. Output goes to files, so no pipe can fill up.
// Thread-safety: one test thread.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace outpost::test {

// A private directory, removed with its content at the end of the scope.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct CommandRun {
  int status = -1;  // exit status; -1 when killed by a signal
  std::string out;
  std::string err;
};

// A running `outpost` with stdout/stderr in files under `dir`.
class OutpostProcess {
 public:
  OutpostProcess(const std::filesystem::path& dir, const std::vector<std::string>& args,
                 const std::string& name, const std::vector<std::string>& extra_env = {});
  ~OutpostProcess();  // SIGKILLs it if it still runs
  OutpostProcess(const OutpostProcess&) = delete;
  OutpostProcess& operator=(const OutpostProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  // Waits for the exit (at most `timeout_s`, then SIGKILL) and collects the output.
  CommandRun finish(int timeout_s = 120);
  void signal(int sig);
  std::string stdout_text() const;
  std::string stderr_text() const;

 private:
  pid_t pid_ = -1;
  int wstatus_ = 0;
  bool reaped_ = false;
  std::filesystem::path out_path_, err_path_;
};

// Runs `outpost args...` to the end.
CommandRun run_outpost(const std::filesystem::path& dir, const std::vector<std::string>& args,
                       const std::string& name = "run",
                       const std::vector<std::string>& extra_env = {});

struct ServeOptions {
  ServeOptions() = default;
  explicit ServeOptions(std::string url) : db_url(std::move(url)) {}

  std::string db_url;
  bool auth = true;
  std::string tls_cert, tls_key;  // both set: https
  std::string listen = "127.0.0.1:0";
  std::vector<std::string> extra_args;  // more options of `outpost serve`
};

// `outpost serve`, started and waited for until it prints its URL.
class ServeProcess {
 public:
  ServeProcess(const std::filesystem::path& dir, ServeOptions options,
               const std::string& name = "serve");
  ~ServeProcess();  // SIGTERM, then SIGKILL if it does not exit in 10 s

  const std::string& url() const { return url_; }
  // The admin token printed on the first serve of a fresh database ("" otherwise).
  const std::string& admin_token() const { return admin_token_; }
  void kill_hard();  // SIGKILL, and wait
  int stop();        // SIGTERM, wait, return the exit status
  std::string log() const { return process_->stderr_text(); }

 private:
  std::unique_ptr<OutpostProcess> process_;
  std::string url_;
  std::string admin_token_;
};

// A self-signed certificate for CN/IP 127.0.0.1 (openssl req -x509), as
// `dir`/cert.pem and `dir`/key.pem; the certificate is its own CA file.
void make_self_signed_certificate(const std::filesystem::path& dir);

}  // namespace outpost::test
