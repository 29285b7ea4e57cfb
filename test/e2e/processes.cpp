#include "e2e/processes.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace outpost::test {

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

ScratchDir::ScratchDir() {
  std::string pattern = (fs::temp_directory_path() / "outpost-e2e-XXXXXX").string();
  REQUIRE(mkdtemp(pattern.data()) != nullptr);
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

OutpostProcess::OutpostProcess(const fs::path& dir, const std::vector<std::string>& args,
                               const std::string& name, const std::vector<std::string>& extra_env)
    : out_path_(dir / (name + ".stdout")), err_path_(dir / (name + ".stderr")) {
  std::vector<std::string> argv_text{OUTPOST_BINARY};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_text) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_text;
  for (char** env = environ; *env != nullptr; ++env) {
    std::string_view e(*env);
    if (e.substr(0, 11) == "OUTPOST_DB=" || e.substr(0, 14) == "OUTPOST_TOKEN=") continue;
    env_text.emplace_back(e);
  }
  env_text.insert(env_text.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> envp;
  for (std::string& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_ = fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    const int out = open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || err < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0) {
      _exit(127);
    }
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
}

OutpostProcess::~OutpostProcess() {
  if (!reaped_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, &wstatus_, 0);
  }
}

bool OutpostProcess::running() {
  if (reaped_) return false;
  const pid_t r = waitpid(pid_, &wstatus_, WNOHANG);
  if (r == pid_) reaped_ = true;
  return !reaped_;
}

void OutpostProcess::signal(int sig) {
  if (!reaped_) ::kill(pid_, sig);
}

CommandRun OutpostProcess::finish(int timeout_s) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (running()) {
    if (std::chrono::steady_clock::now() > until) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, &wstatus_, 0);
      reaped_ = true;
      FAIL_CHECK("outpost did not exit within " << timeout_s << " s: " << stderr_text());
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CommandRun run;
  run.status = WIFEXITED(wstatus_) ? WEXITSTATUS(wstatus_) : -1;
  run.out = stdout_text();
  run.err = stderr_text();
  return run;
}

std::string OutpostProcess::stdout_text() const { return slurp(out_path_); }
std::string OutpostProcess::stderr_text() const { return slurp(err_path_); }

CommandRun run_outpost(const fs::path& dir, const std::vector<std::string>& args,
                       const std::string& name, const std::vector<std::string>& extra_env) {
  return OutpostProcess(dir, args, name, extra_env).finish();
}

ServeProcess::ServeProcess(const fs::path& dir, ServeOptions options, const std::string& name) {
  std::vector<std::string> args{"serve", "--db", options.db_url, "--listen", options.listen};
  if (!options.auth) args.push_back("--no-auth");
  if (!options.tls_cert.empty()) {
    args.insert(args.end(), {"--tls-cert", options.tls_cert, "--tls-key", options.tls_key});
  }
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  process_ = std::make_unique<OutpostProcess>(dir, args, name);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    const std::string out = process_->stdout_text();
    const size_t at = out.find("listening on ");
    const size_t end = at == std::string::npos ? at : out.find('\n', at);
    if (end != std::string::npos) {
      url_ = out.substr(at + 13, end - at - 13);
      const size_t token = out.find("admin token: ");
      if (token != std::string::npos) {
        admin_token_ = out.substr(token + 13, out.find('\n', token) - token - 13);
      }
      return;
    }
    if (!process_->running()) {
      FAIL("outpost serve exited before listening: " << process_->stderr_text());
    }
    if (std::chrono::steady_clock::now() > until) {
      FAIL("outpost serve did not print 'listening on' within 60 s: " << process_->stderr_text());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

ServeProcess::~ServeProcess() {
  if (process_->running()) {
    process_->signal(SIGTERM);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (process_->running() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
}

void ServeProcess::kill_hard() {
  process_->signal(SIGKILL);
  process_->finish();
}

int ServeProcess::stop() {
  process_->signal(SIGTERM);
  return process_->finish(30).status;
}

void make_self_signed_certificate(const fs::path& dir) {
  const std::string command =
      "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -days 1 -keyout '" +
      (dir / "key.pem").string() + "' -out '" + (dir / "cert.pem").string() + "' 2>'" +
      (dir / "openssl.log").string() + "'";
  INFO(slurp(dir / "openssl.log"));
  REQUIRE(std::system(command.c_str()) == 0);
}

}  // namespace outpost::test
