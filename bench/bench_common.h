// What the benchmark scenarios share: scratch space that cleans up after
// itself (a temporary directory, a PostgreSQL schema), a server process,
// and the record shape they all write. Thread-safety: plain values and RAII owners of one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "api/table.h"
#include "api/value.h"
#include "engine/open.h"

namespace outpost {

inline constexpr const char* kBenchTable = "items";

// The database a bench that runs its own server uses: `db_url`, or the
// default; `postgres` says which kind. Throws Error(unavailable) for a URL
// that is neither a SQLite file nor PostgreSQL (`scenario` names the bench
// in the message) and Error(invalid_value) for no records.
std::string served_bench_url(const std::string& db_url, size_t records, const std::string& scenario,
                             bool& postgres);

// A device database for a bench: the SQLite file `file`.
std::unique_ptr<Engine> open_bench_device(const std::filesystem::path& file, Durability durability);

// Seconds since `start`, on the steady clock every bench times with.
double seconds_since(std::chrono::steady_clock::time_point start);

// Figures as the reports print them: a whole number in groups of three
// ("1 000 000", truncated), and `value` with `digits` decimals.
std::string count_text(double n);
std::string fixed(double value, int digits);

// A fresh directory under `parent` (empty: the system's temporary
// directory), removed with everything in it at the end of its scope.
class ScratchDir {
 public:
  explicit ScratchDir(const std::filesystem::path& parent);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A fresh schema of the PostgreSQL database named by `url`, dropped with
// everything in it at the end of its scope.
class ScratchSchema {
 public:
  ScratchSchema(const std::string& url, const std::string& name);
  ~ScratchSchema();
  ScratchSchema(const ScratchSchema&) = delete;
  ScratchSchema& operator=(const ScratchSchema&) = delete;
  // A libpq conninfo whose search_path is the schema, and the engine URL for it.
  const std::string& conninfo() const { return conninfo_; }
  std::string engine_url() const { return "postgres:" + conninfo_; }

 private:
  std::string base_;
  std::string schema_;
  std::string conninfo_;
};

// `outpost serve --no-auth` on `db_url` (with `auth`: `outpost serve`,
// which then needs the tokens the database holds), on a free loopback port,
// run from this binary (/proc/self/exe) with its output in `dir`
// (`name`.stdout and `name`.stderr, so that several servers may share a
// directory), with `extra_args` after the others; stopped (SIGTERM) at the end of its scope. Throws
// Error(unavailable) when it does not start.
class ServerProcess {
 public:
  ServerProcess(const std::filesystem::path& dir, const std::string& db_url, Durability durability,
                bool auth = false, const std::string& name = "serve",
                const std::vector<std::string>& extra_args = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  // "http://127.0.0.1:PORT"
  const std::string& url() const { return url_; }
  // The server's process id (for its /proc/PID/status).
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  std::string url_;
};

// A line of /proc/PID/status in KiB ("VmRSS", "VmHWM"); 0 when unreadable.
// pid 0: this process.
size_t process_status_kib(int pid, const std::string& field);

// The benchmark table: name, city (strings), qty, seq (ints), price (float),
// active (bool); name required.
Table bench_table();
// "rec00000042".
std::string bench_record_id(size_t i);
// The attributes of record i at `version` (0 for its first revision).
Attributes bench_record(size_t i, size_t version);

}  // namespace outpost
