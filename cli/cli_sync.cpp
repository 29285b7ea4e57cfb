// `outpost sync`: replicate between the local database (--db) and another
// one (--remote), in both directions or one (--pull, --push), once or
// continuously (DESIGN.md sections 7 and 11). Progress goes to stderr (one
// line rewritten in place on a terminal, a line every few seconds
// otherwise); a one-line summary ends the run on stdout.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <stop_token>
#include <thread>
#include <utility>

#include "api/error.h"
#include "api/json_builder.h"
#include "api/refusals.h"
#include "api/scope.h"
#include "api/table.h"
#include "cli/command.h"
#include "cli/output.h"
#include "client/http_engine.h"
#include "reconciler/checkpoint.h"
#include "reconciler/replicator.h"
#include "reconciler/sync_session.h"

namespace outpost::cli {

namespace {

// The write end of StopOnSignal's pipe while one is installed, else -1.
std::atomic<int> g_signal_fd{-1};

void on_stop_signal(int) {
  const int saved_errno = errno;
  const int fd = g_signal_fd.load();
  if (fd >= 0) {
    const char byte = 1;
    [[maybe_unused]] ssize_t n = write(fd, &byte, 1);
  }
  errno = saved_errno;
}

// SIGINT/SIGTERM request a stop: the run stops after the current call (at
// once in a wait) and saves nothing half-done. A second signal takes the
// default action. The handler only writes a byte to a pipe (which is
// async-signal-safe); a thread blocked reading the pipe turns it into the
// stop request. Nothing polls.
class StopOnSignal {
 public:
  StopOnSignal() {
    if (pipe(fds_) != 0) throw Error(ErrorCode::internal, "cannot create a pipe for signals");
    g_signal_fd.store(fds_[1]);
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
    watcher_ = std::thread([this] {
      char byte = 0;
      while (read(fds_[0], &byte, 1) < 0 && errno == EINTR) {
      }
      if (!done_.load()) stop_.request_stop();
    });
  }

  ~StopOnSignal() {
    g_signal_fd.store(-1);
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    done_.store(true);
    const char byte = 0;
    [[maybe_unused]] ssize_t n = write(fds_[1], &byte, 1);  // wakes the watcher
    watcher_.join();
    close(fds_[0]);
    close(fds_[1]);
  }

  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

  std::stop_token token() const { return stop_.get_token(); }

 private:
  int fds_[2] = {-1, -1};
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
  std::stop_source stop_;
  std::atomic<bool> done_{false};
  std::thread watcher_;
};

std::string fixed(double value, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, value);
  return buf;
}

std::string count(uint64_t n) { return with_thousands(static_cast<double>(n)); }

double to_seconds(std::chrono::milliseconds ms) { return static_cast<double>(ms.count()) / 1000; }

// Progress on stderr: a line rewritten in place on a terminal, otherwise a
// plain line at most every kPlainEvery.
class SyncProgress {
 public:
  explicit SyncProgress(std::string local_db_id)
      : local_(std::move(local_db_id)), tty_(isatty(STDERR_FILENO) == 1) {}
  ~SyncProgress() { clear(); }
  SyncProgress(const SyncProgress&) = delete;
  SyncProgress& operator=(const SyncProgress&) = delete;

  void update(const ReplicationProgress& p) {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    const auto every = tty_ ? std::chrono::milliseconds(100) : kPlainEvery;
    if (shown_any_ && now - last_ < every) return;
    last_ = now;
    shown_any_ = true;
    std::string line = std::string(p.source_db_id == local_ ? "push" : "pull") + ": " +
                       count(p.changes_read) + " changes, " + count(p.revisions_written) +
                       " written, " + count(p.already_present) + " present, " + count(p.errors) +
                       " errors";
    if (p.bytes) line += ", " + count(*p.bytes) + " bytes";
    line += ", " + with_thousands(p.rate()) + " changes/s";
    if (tty_) {
      std::cerr << "\r\033[K" << line << std::flush;
      on_line_ = true;
    } else {
      std::cerr << line << "\n" << std::flush;
    }
  }

  // A line about the run that is not a count (waiting for the remote):
  // it replaces the progress line on a terminal, else is one line.
  void note(const std::string& text) {
    std::lock_guard lock(mu_);
    if (tty_) {
      std::cerr << "\r\033[K" << printable(text) << std::flush;
      on_line_ = true;
    } else {
      std::cerr << printable(text) << "\n" << std::flush;
    }
  }

  // A transient failure about to be retried: what failed, when the next
  // attempt comes and when the run gives up.
  void retrying(const RetryNotice& r) {
    std::string text = "retrying " + r.call + " in " + fixed(to_seconds(r.wait), 1) +
                       " s (attempt " + std::to_string(r.attempt) + " failed: " + r.message + ")";
    if (r.remaining) text += "; giving up in " + fixed(to_seconds(*r.remaining), 0) + " s";
    note(text);
  }

  void clear() {
    std::lock_guard lock(mu_);
    if (on_line_) std::cerr << "\r\033[K" << std::flush;
    on_line_ = false;
  }

 private:
  static constexpr std::chrono::milliseconds kPlainEvery{2000};
  std::mutex mu_;
  std::string local_;
  bool tty_;
  bool on_line_ = false;
  bool shown_any_ = false;
  std::chrono::steady_clock::time_point last_{};
};

std::string summary_line(std::string_view what, const ReplicationReport& r) {
  std::string line = std::string(what) +
                     (r.cancelled ? " stopped: "
                      : r.fatal   ? " failed: "
                                  : ": ") +
                     count(r.changes_read) + " changes read, " + count(r.revisions_written) +
                     " revisions written, " + count(r.already_present) + " already present, " +
                     count(r.errors.size()) + " errors";
  if (r.refused > 0) line += ", " + count(r.refused) + " refused";
  if (r.purged > 0) line += ", " + count(r.purged) + " purged";
  if (r.purge_waiting > 0) line += ", " + count(r.purge_waiting) + " waiting to be purged";
  if (r.traffic) {
    line += ", " + count(r.traffic->round_trips) + " round trips, " + count(r.traffic->wire_bytes) +
            " bytes on the wire (" + count(r.traffic->plain_bytes) + " uncompressed)";
  }
  line += ", " + fixed(r.seconds, 2) + " s, " + with_thousands(r.rate()) + " changes/s";
  return line;
}

void print_errors(const ReplicationReport& r) {
  constexpr size_t kShown = 20;
  for (size_t i = 0; i < r.errors.size() && i < kShown; ++i) {
    const ReplicationError& e = r.errors[i];
    std::string what = e.id.empty() ? "table " + e.table : e.table + "/" + e.id;
    if (!e.revision.empty()) what += " " + e.revision;
    std::cerr << "error: " << printable(what) << ": " << error_code_name(e.code) << ": "
              << printable(e.message) << "\n";
  }
  if (r.errors.size() > kShown) {
    std::cerr << "... and " << r.errors.size() - kShown << " more errors (see --json)\n";
  }
  if (r.refused > 0) {
    std::cerr << count(r.refused)
              << " documents are recorded as refused; every sync tries them again "
                 "('outpost sync --rejected' lists them)\n";
  }
}

// `json` (an object) with "error" and "message" added first, as the error
// object of a failed command has them.
std::string with_error_members(const std::string& json, const Error& error) {
  JsonBuilder w;
  w.start_object();
  w.field("error", error.code_name());
  w.field("message", error.message());
  w.end_object();
  std::string head = w.str();
  head.pop_back();  // the closing brace
  if (json.size() < 2 || json.front() != '{') return head + "}";
  return head + (json == "{}" ? "" : ",") + json.substr(1);
}

// The error a run that was not stopped but left documents unwritten ends
// with: the first document's code, and how many there are.
Error documents_error(const ReplicationReport& r) {
  const size_t n = std::max<size_t>(r.errors.size(), r.refused);
  std::string message = count(n) + (n == 1 ? " document was" : " documents were") +
                        " not written ('outpost sync --rejected' lists those recorded)";
  if (r.errors.empty()) return Error(ErrorCode::internal, message);
  const ReplicationError& first = r.errors.front();
  std::string what = first.id.empty() ? "table " + first.table : first.table + "/" + first.id;
  return Error(first.code, message + "; the first, " + what + ": " + first.message);
}

// The other database: a server (http:// or https://) or a database URL.
std::unique_ptr<Engine> open_remote(const Context& context, const ParsedArgs& args,
                                    const std::string& url) {
  if (is_http_url(url)) {
    HttpClientOptions options = http_client_options(args);
    // One attempt per request: the replicator's retry budget (--retry-for)
    // alone decides how long a failing hub is tried again, and a run facing
    // one that stalls ends within --retry-for and two --timeout.
    options.max_attempts = 1;
    const std::chrono::seconds timeout{args.get_int("timeout", 120, 1, 3600)};
    options.io_timeout = timeout;
    options.connect_timeout = std::min<std::chrono::milliseconds>(options.connect_timeout, timeout);
    return open_http_engine(url, options);
  }
  for (const char* option : {"token", "insecure", "cacert", "timeout"}) {
    if (args.has(option)) {
      throw UsageError(std::string("--") + option + " applies only to an http(s):// --remote");
    }
  }
  OpenOptions options;
  options.durability = context.durability;
  return open_engine(url, options);
}

// `sync --rejected`: the documents each direction's replication recorded as
// refused (api/refusals.h), read from the direction's source.
int list_rejected(Context& context, Engine& local, Engine& remote,
                  const ReplicationOptions& options, bool pull, bool push) {
  struct Direction {
    const char* name;
    Engine& source;
    Engine& target;
  };
  std::vector<Direction> directions;
  if (!pull) directions.push_back({"push", local, remote});
  if (!push) directions.push_back({"pull", remote, local});
  std::string json;  // {"push": {"refused": [...]}, "pull": {...}}
  size_t total = 0;
  for (const Direction& d : directions) {
    // The scope the replicator uses: --scope, narrowed by the target's own.
    std::optional<Scope> scope;
    if (options.scope) scope = *options.scope;
    if (std::optional<Scope> own = d.target.scope()) {
      scope = scope ? intersect_scopes(*scope, *own) : std::move(*own);
    }
    const std::string id = replication_id(d.source.db_id(), d.target.db_id(), options.tables,
                                          scope ? scope_fingerprint(*scope) : std::string());
    std::optional<std::string> text = d.source.get_local(refusals_local_id(id));
    std::vector<Refusal> refused;
    if (text) {
      std::optional<std::vector<Refusal>> decoded = refusals_from_json(*text);
      if (!decoded) {
        throw Error(ErrorCode::internal,
                    std::string(d.name) + ": the list of refused documents does not decode");
      }
      refused = std::move(*decoded);
    }
    json +=
        (json.empty() ? "{\"" : ",\"") + std::string(d.name) + "\":" + refusals_to_json(refused);
    for (const Refusal& r : refused) {
      if (!context.json) {
        std::cout << d.name << ": " << printable(r.table + "/" + r.id) << " "
                  << printable(r.revision) << ": " << error_code_name(r.code) << ": "
                  << printable(r.message) << " (" << r.at << ")\n";
      }
      ++total;
    }
  }
  if (context.json) {
    std::cout << json << "}\n";
  } else if (total == 0) {
    std::cout << "no refused documents\n";
  }
  return 0;
}

int run_sync(Context& context, const ParsedArgs& args) {
  const std::optional<std::string> remote_url = args.get("remote");
  if (!remote_url || remote_url->empty()) {
    throw UsageError("'outpost sync' needs --remote URL (the database to sync with)");
  }
  const bool pull = args.has("pull");
  const bool push = args.has("push");
  if (pull && push) {
    throw UsageError("--pull and --push exclude each other (give neither to sync both ways)");
  }
  SyncSessionOptions session;
  ReplicationOptions& options = session.replication;
  options.tables = split_list(args.get_or("tables", ""));
  for (const std::string& t : options.tables) validate_table_name(t);
  options.batch_size = static_cast<size_t>(args.get_int("batch", 1000, 1, 10000));
  options.continuous = args.has("continuous");
  options.retry_for = std::chrono::seconds{args.get_int("retry-for", 60, 0, 7 * 24 * 3600)};
  session.direction = pull ? SyncDirection::pull : push ? SyncDirection::push : SyncDirection::both;
  session.scope_text = args.get("scope");
  session.local_name = "--db " + context.effective_db_url();
  session.remote_name = "--remote " + *remote_url;

  StopOnSignal stop_on_signal;
  options.stop = stop_on_signal.token();
  std::unique_ptr<Engine> local = context.open();
  std::unique_ptr<Engine> remote = open_remote(context, args, *remote_url);
  const std::string local_id = local->db_id();
  SyncProgress progress(local_id);
  session.on_notice = [&](const std::string& notice) { progress.note(notice); };
  options.on_retry = [&](const RetryNotice& r) { progress.retrying(r); };

  if (args.has("rejected")) {
    // The checks a sync makes first, and its scope; then nothing is synced.
    options.scope = prepare_sync_session(*local, *remote, session).scope;
    if (options.continuous) throw UsageError("--rejected and --continuous exclude each other");
    return list_rejected(context, *local, *remote, options, pull, push);
  }

  session.scope_check = std::chrono::milliseconds{
      args.get_int("scope-check-ms", 30000, 10, int64_t{24} * 3600 * 1000)};
  if (!context.json) {
    options.progress = [&](const ReplicationProgress& p) { progress.update(p); };
    // One line per scope adopted (stdout; --json: "adopted_scope").
    session.on_adopt = [&](const ScopeAdoption& a) {
      progress.clear();
      std::cout << "scope: adopted the token's scope " << scope_fingerprint(a.scope).substr(0, 12)
                << " (" << printable(scope_text(a.scope)) << "); " << count(a.outcome.purged)
                << " purged, " << count(a.outcome.waiting.size()) << " waiting for a push\n"
                << std::flush;
    };
  }

  SyncSessionReport report = run_sync_session(*local, *remote, std::move(session));
  progress.clear();
  ReplicationReport& total = report.total;

  if (context.json) {
    if (total.ok()) {
      std::cout << report.json << "\n";
      return 0;
    }
    // A sync that exits 1 prints the report with the error object's
    // members (docs/cli.md), and the error lines on stderr as every
    // command does: what stopped the run, else the documents not written.
    const Error error = total.fatal ? *total.fatal : documents_error(total);
    std::cout << with_error_members(report.json, error) << "\n";
    if (!total.fatal) print_errors(total);
    std::cerr << "error: " << error.code_name() << ": " << printable(error.message()) << "\n";
    return 1;
  }
  print_errors(total);
  if (report.traffic) total.traffic = *report.traffic;
  std::cout << summary_line(pull ? "pull" : push ? "push" : "sync", total) << "\n";
  std::cout.flush();
  if (total.fatal) throw *total.fatal;
  return total.ok() ? 0 : 1;
}

constexpr OptionSpec kOptions[] = {
    {"remote", "URL",
     "the other database: http(s)://HOST:PORT, sqlite:PATH, a path, or postgres:..."},
    {"token", "T", "bearer token for an http(s):// remote (default $OUTPOST_TOKEN)"},
    {"cacert", "FILE", "https: trust the CA certificate(s) in this PEM file (self-signed hubs)"},
    {"insecure", "", "https: do not verify the server's certificate (testing only)"},
    {"tables", "a,b", "only these tables (each table set has its own checkpoint)"},
    {"scope", "SCOPE", "only the records in SCOPE (each scope has its own checkpoint)"},
    {"pull", "", "only copy from --remote into --db"},
    {"push", "", "only copy from --db into --remote"},
    {"continuous", "", "keep following both feeds until interrupted (Ctrl-C)"},
    {"scope-check-ms", "MS",
     "--continuous with a hub: how often to check the token's scope (default 30000)"},
    {"batch", "N", "changes per batch and target transaction (default 1000, at most 10000)"},
    {"timeout", "S",
     "http(s):// remote: seconds one request may take, sending and answer (default 120)"},
    {"retry-for", "S",
     "without --continuous: seconds a failing call is retried before the sync gives up "
     "(default 60; 0: no retry)"},
    {"rejected", "", "list the documents recorded as refused (with --pull/--push: one direction)"},
};

const Command kCommands[] = {
    {.name = "",
     .usage = "--remote URL [--token T] [--tables a,b] [--scope SCOPE] [--pull|--push] "
              "[--continuous [--scope-check-ms MS]] [--batch N] [--timeout S] [--retry-for S] "
              "[--rejected]",
     .summary = "replicate between this database and another until both hold the same records",
     .details =
         "Copies every revision one side has and the other lacks, both ways unless --pull\n"
         "or --push is given; concurrent edits become conflicts on both sides, nothing is\n"
         "lost. Each direction resumes from its checkpoint, so an interrupted sync just\n"
         "runs again. --remote is a hub run with 'outpost serve' (http(s)://HOST:PORT, with\n"
         "--token or $OUTPOST_TOKEN), or any database URL: two devices can sync through a\n"
         "SQLite file carried between them. https certificates are verified (--cacert FILE\n"
         "for a self-signed one). --continuous keeps going when the hub goes away and\n"
         "picks up from its checkpoints when it is back. Without it, a hub that cannot\n"
         "be reached, answers 503 or times out is tried again for --retry-for seconds\n"
         "(default 60) from the first failure of each call, with the retries shown on\n"
         "stderr, before the sync gives up; each request may take --timeout seconds.\n"
         "Progress goes to stderr; a summary line ends the run. Per-record errors are\n"
         "listed and make the exit status 1. --json prints the report as JSON instead.\n"
         "Nothing is skipped silently: a document the other side refuses for good\n"
         "(forbidden, too_large, invalid_revision, ...) is recorded in its source database\n"
         "and tried again by every later sync; while any remain, sync exits 1.\n"
         "--rejected lists them (table/id, revision, error, message, when) and syncs nothing.\n"
         "--scope SCOPE (see 'outpost scope set --help') narrows the sync to the records\n"
         "in SCOPE. A database with a scope of its own ('outpost scope set') receives\n"
         "only what its scope covers whatever --scope says, and purges the records the\n"
         "other side reports as out of it once a database without a scope holds them;\n"
         "the summary counts them as purged, or as waiting to be purged.\n"
         "A hub's token may carry a scope ('outpost tokens create --scope'): the device\n"
         "adopts it as its own scope before copying (one line says so; --json:\n"
         "\"adopted_scope\"). After a re-scope on the hub, the device pushes what the hub\n"
         "lacks, then pulls the new scope and purges what left it; nothing unpushed is\n"
         "purged. --continuous checks the token's scope every --scope-check-ms and\n"
         "follows a re-scope without a restart.\n",
     .options = kOptions,
     .max_args = 0,
     .run = run_sync},
};

const CommandGroup kGroup{"sync", "replicate with another database (both ways by default)",
                          kCommands};

}  // namespace

const CommandGroup& sync_commands() { return kGroup; }

}  // namespace outpost::cli
