#include "bench/bench_common.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "api/error.h"
#include "bench/pg_raw_baseline.h"
#include "engine/postgres/pg_connection.h"

namespace outpost {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string count_text(double n) {
  std::string digits = std::to_string(static_cast<long long>(n)), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ' ';
    out += digits[i];
  }
  return out;
}

std::string fixed(double value, int digits) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", digits, value);
  return text;
}

ScratchDir::ScratchDir(const std::filesystem::path& parent) {
  std::error_code ec;
  std::filesystem::path base = parent.empty() ? std::filesystem::temp_directory_path(ec) : parent;
  if (ec) base = "/tmp";
  std::string pattern = (base / "outpost-bench-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw Error(ErrorCode::unavailable, "cannot create a temporary directory in " + base.string() +
                                            ": " + std::strerror(errno));
  }
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

ScratchSchema::ScratchSchema(const std::string& url, const std::string& name)
    : base_(pg_conninfo_from_url(url)),
      schema_("outpost_bench_" + std::to_string(::getpid()) + "_" + name),
      conninfo_(pg_scratch_conninfo(base_, schema_)) {}

ScratchSchema::~ScratchSchema() {
  try {
    pg_drop_scratch(base_, schema_);
  } catch (const Error&) {
    // Best effort: a left-over schema is named outpost_bench_* and harmless.
  }
}

Table bench_table() {
  return Table{kBenchTable,
               {{"name", ValueType::string, true},
                {"city", ValueType::string, false},
                {"qty", ValueType::int_, false},
                {"seq", ValueType::int_, false},
                {"price", ValueType::float_, false},
                {"active", ValueType::bool_, false}}};
}

std::string bench_record_id(size_t i) {
  char id[32];
  std::snprintf(id, sizeof id, "rec%08zu", i);
  return id;
}

Attributes bench_record(size_t i, size_t version) {
  static const char* const kCities[] = {"Oslo",  "Lagos", "Lima",  "Hanoi",
                                        "Quito", "Perth", "Porto", "Dhaka"};
  Attributes a;
  a.emplace("name",
            Value::from_string("item-" + std::to_string(i) + "-v" + std::to_string(version)));
  a.emplace("city", Value::from_string(kCities[(i + version) % 8]));
  a.emplace("qty", Value::from_int(static_cast<int64_t>((i * 7919 + version) % 1000)));
  a.emplace("seq", Value::from_int(static_cast<int64_t>(i)));
  a.emplace("price", Value::from_float(static_cast<double>((i * 31 + version) % 10000) / 100.0));
  a.emplace("active", Value::from_bool((i + version) % 3 != 0));
  return a;
}

namespace {

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

size_t process_status_kib(int pid, const std::string& field) {
  std::ifstream status(pid == 0 ? std::string("/proc/self/status")
                                : "/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 &&
        line[field.size()] == ':') {
      return std::stoul(line.substr(field.size() + 1));
    }
  }
  return 0;
}

ServerProcess::ServerProcess(const std::filesystem::path& dir, const std::string& db_url,
                             Durability durability, bool auth, const std::string& name,
                             const std::vector<std::string>& extra_args) {
  using Clock = std::chrono::steady_clock;

  const std::filesystem::path out = dir / (name + ".stdout");
  const std::filesystem::path err = dir / (name + ".stderr");
  std::vector<std::string> args{
      "outpost",  "--durability", durability == Durability::full ? "full" : "normal",
      "serve",    "--db",         db_url,
      "--listen", "127.0.0.1:0"};
  if (!auth) args.emplace_back("--no-auth");
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) throw Error(ErrorCode::unavailable, "bench: fork failed");
  if (pid_ == 0) {
    const int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (o < 0 || e < 0 || dup2(o, STDOUT_FILENO) < 0 || dup2(e, STDERR_FILENO) < 0) _exit(127);
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  const auto until = Clock::now() + std::chrono::seconds(60);
  for (;;) {
    const std::string text = slurp(out);
    const size_t at = text.find("listening on ");
    const size_t end = at == std::string::npos ? at : text.find('\n', at);
    if (end != std::string::npos) {
      url_ = text.substr(at + 13, end - at - 13);
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw Error(ErrorCode::unavailable, "bench: outpost serve exited: " + slurp(err));
    }
    if (Clock::now() > until) {
      throw Error(ErrorCode::unavailable, "bench: outpost serve did not start: " + slurp(err));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

ServerProcess::~ServerProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
}

std::string served_bench_url(const std::string& db_url, size_t records, const std::string& scenario,
                             bool& postgres) {
  const std::string url = db_url.empty() ? default_database_url() : db_url;
  postgres = url.starts_with("postgres:") || url.starts_with("postgresql:");
  if (!postgres && !url.starts_with("sqlite:") && url.find("://") != std::string::npos) {
    throw Error(ErrorCode::unavailable,
                "'outpost bench " + scenario +
                    "' runs its own server on a fresh SQLite file, or on a fresh schema of the "
                    "PostgreSQL database --db postgres:... names");
  }
  if (records == 0) throw Error(ErrorCode::invalid_value, "bench: --records must be > 0");
  return url;
}

std::unique_ptr<Engine> open_bench_device(const std::filesystem::path& file,
                                          Durability durability) {
  OpenOptions open_options;
  open_options.durability = durability;
  return open_engine("sqlite:" + file.string(), open_options);
}

}  // namespace outpost
