#include "bench/bench_link.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <optional>

#include "api/engine.h"
#include "api/error.h"
#include "bench/bench_common.h"
#include "client/http_engine.h"
#include "reconciler/replicator.h"

namespace outpost {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kTable = kBenchTable;
constexpr uint64_t kDropSeed = 17;
constexpr const char* kLinkProfileNames = "fast, 3G, 2G, 2G-drop";

// The port of "http://host:port".
uint16_t port_of(const std::string& url) {
  return static_cast<uint16_t>(std::stoul(url.substr(url.rfind(':') + 1)));
}

size_t batch_of(const BenchOptions& options) { return options.batch == 0 ? 1000 : options.batch; }

// Writes version `version` of records first, first + step, ... below count
// (version 0: new records; later versions read the parent first).
void write_records(const BenchOptions& options, Engine& engine, size_t count, size_t step,
                   size_t first, size_t version, std::string_view stage) {
  const size_t batch = batch_of(options);
  std::vector<Edit> edits;
  for (size_t i = first; i < count; i += step) {
    Edit e;
    e.table = kTable;
    e.id = bench_record_id(i);
    if (version > 0) e.parent = engine.get(kTable, e.id)->revision;
    e.attributes = bench_record(i, version);
    edits.push_back(std::move(e));
    if (edits.size() == batch || i + step >= count) {
      for (const WriteResult& r : engine.write(edits)) {
        if (r.error) throw *r.error;
      }
      edits.clear();
      options.notify(stage, i + 1, count);
    }
  }
}

size_t count_records(Engine& engine) {
  size_t n = 0;
  std::string after;
  for (;;) {
    RecordPage page = engine.list_records(kTable, after, 1000);
    n += page.records.size();
    if (page.next.empty()) return n;
    after = page.next;
  }
}

// Throws the first error a set-up run reported.
void check(const ReplicationReport& report, std::string_view what) {
  if (report.fatal) {
    throw Error(report.fatal->code(), "bench: " + std::string(what) + ": " + report.fatal->what());
  }
  if (!report.errors.empty()) {
    throw Error(report.errors[0].code, "bench: " + std::string(what) + " reported " +
                                           std::to_string(report.errors.size()) +
                                           " errors, the first: " + report.errors[0].message);
  }
}

ReplicationOptions replication_options(const BenchOptions& options, std::string_view stage,
                                       size_t expected) {
  ReplicationOptions ro;
  ro.batch_size = batch_of(options);
  ro.progress = [&options, stage = std::string(stage), expected](const ReplicationProgress& p) {
    options.notify(stage, static_cast<size_t>(p.changes_read), expected);
  };
  return ro;
}

// What one replication run (or two-way sync) left for its phase.
struct RunOutcome {
  uint64_t changes_read = 0;
  std::optional<Traffic> traffic;
  std::string failure;     // empty: it ended well
  bool transient = false;  // it stopped on a transient error (unavailable)
};

std::string failure_of(const ReplicationReport& report) {
  if (report.fatal) return report.fatal->what();
  if (!report.errors.empty()) {
    return std::to_string(report.errors.size()) + " errors, the first: " + report.errors[0].message;
  }
  return {};
}

bool transient(const ReplicationReport& report) {
  return report.fatal && report.fatal->code() == ErrorCode::unavailable;
}

RunOutcome outcome_of(const ReplicationReport& report) {
  return RunOutcome{report.changes_read, report.traffic, failure_of(report), transient(report)};
}

RunOutcome outcome_of(const SyncReport& report) {
  std::string failure = failure_of(report.a_to_b);
  if (failure.empty()) failure = failure_of(report.b_to_a);
  return RunOutcome{report.a_to_b.changes_read + report.b_to_a.changes_read, report.traffic,
                    std::move(failure), transient(report.a_to_b) || transient(report.b_to_a)};
}

// Runs `run` again while it stops on a transient error, up to kReruns more
// times (as a user reruns `outpost sync`, which resumes from the
// checkpoint), and adds up what the runs moved and their traffic: the
// replicator's own counts (ReplicationReport::traffic, SyncReport::traffic).
constexpr int kReruns = 5;

template <typename Run>
void run_with_reruns(LinkPhase& phase, Run run) {
  for (int attempt = 0;; ++attempt) {
    const RunOutcome outcome = outcome_of(run());
    phase.moved += outcome.changes_read;
    if (outcome.traffic) {
      phase.requests += outcome.traffic->requests;
      phase.round_trips += outcome.traffic->round_trips;
      phase.wire_bytes += outcome.traffic->wire_bytes;
      phase.plain_bytes += outcome.traffic->plain_bytes;
    }
    phase.failure = outcome.failure;
    if (!outcome.transient || attempt == kReruns) return;
    ++phase.reruns;
  }
}

// One timed run through a fresh HttpEngine on the relay: `run` gets the
// remote engine and fills the phase from its report.
template <typename Run>
LinkPhase timed(DelayProxy& relay, std::string name, std::string label, size_t records, Run run) {
  LinkPhase phase;
  phase.name = std::move(name);
  phase.label = std::move(label);
  phase.records = records;
  relay.reset_counters();
  const auto start = Clock::now();
  try {
    std::unique_ptr<HttpEngine> remote =
        open_http_engine("http://127.0.0.1:" + std::to_string(relay.port()));
    run(*remote, phase);
    phase.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  } catch (const std::exception& e) {
    phase.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    phase.failure = e.what();
  }
  phase.link = relay.counters();
  // A page read again after a broken connection may count twice: fewer is
  // the failure.
  if (phase.failure.empty() && phase.moved < phase.records) {
    phase.failure = "read " + std::to_string(phase.moved) + " changes, expected " +
                    std::to_string(phase.records);
  }
  return phase;
}

}  // namespace

std::vector<LinkBenchProfile> link_bench_profiles(size_t records) {
  using std::chrono::milliseconds;
  const size_t slow = std::max<size_t>(1, records / 10);
  constexpr uint64_t k3g = 1'000'000 / 8;  // 1 Mbit/s in bytes per second
  constexpr uint64_t k2g = 128'000 / 8;    // 128 kbit/s
  std::vector<LinkBenchProfile> profiles;
  profiles.push_back({"fast", "fast (50 ms round trip, unlimited)",
                      LinkProfile{.one_way = milliseconds(25)}, records});
  profiles.push_back(
      {"3g", "3G (300 ms round trip, 1 Mbit/s each way)",
       LinkProfile{
           .one_way = milliseconds(150), .up_bytes_per_second = k3g, .down_bytes_per_second = k3g},
       slow});
  profiles.push_back(
      {"2g", "2G (700 ms round trip, 128 kbit/s each way)",
       LinkProfile{
           .one_way = milliseconds(350), .up_bytes_per_second = k2g, .down_bytes_per_second = k2g},
       slow});
  profiles.push_back({"2g_drop", "2G-drop (2G, 10% of exchanges cut within 256 KiB)",
                      LinkProfile{.one_way = milliseconds(350),
                                  .up_bytes_per_second = k2g,
                                  .down_bytes_per_second = k2g,
                                  .drop_probability = 0.1,
                                  .drop_window = 256 * 1024,
                                  .seed = kDropSeed},
                      slow});
  return profiles;
}

std::vector<LinkBenchProfile> select_link_profiles(std::vector<LinkBenchProfile> profiles,
                                                   const std::vector<std::string>& names) {
  if (names.empty()) return profiles;
  // "2G-drop" → "2g_drop": the machine name.
  auto key = [](std::string_view name) {
    std::string k;
    for (const char c : name) {
      k += c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return k;
  };
  std::vector<std::string> wanted;
  for (const std::string& name : names) {
    const std::string k = key(name);
    const bool known = std::any_of(profiles.begin(), profiles.end(),
                                   [&](const LinkBenchProfile& p) { return p.name == k; });
    if (!known) {
      throw Error(ErrorCode::invalid_value, "bench link: there is no link profile '" + name +
                                                "' (profiles: " + kLinkProfileNames + ")");
    }
    wanted.push_back(k);
  }
  std::erase_if(profiles, [&](const LinkBenchProfile& p) {
    return std::find(wanted.begin(), wanted.end(), p.name) == wanted.end();
  });
  return profiles;
}

std::vector<LinkPhase> run_link_profile(const LinkBenchProfile& profile,
                                        const std::string& server_url, const fs::path& dir,
                                        const BenchOptions& options) {
  const size_t n = profile.records;
  const size_t step = n >= 100 ? 100 : n;  // 1% of the records
  // Records 0, step, 2 step, ... change on the device; 1, step + 1, ... on
  // the hub (the same records when there are fewer than 2).
  const size_t hub_first = n >= 2 ? 1 : 0;
  const size_t device_edits = (n + step - 1) / step;
  const size_t hub_edits = (n - hub_first + step - 1) / step;
  const std::string stage = profile.name + ": ";

  const fs::path device_file = dir / (profile.name + "-device.db");
  const fs::path fresh_file = dir / (profile.name + "-first-pull.db");
  std::unique_ptr<HttpEngine> hub = open_http_engine(server_url);

  // The base dataset, synced both ways around the relay (twice: the second
  // sync moves each side's checkpoint past what it received).
  auto device = open_bench_device(device_file, options.durability);
  device->put_table(bench_table());
  write_records(options, *device, n, 1, 0, 0, stage + "device writes");
  auto settle = [&](std::string_view what) {
    for (int i = 0; i < 2; ++i) {
      const SyncReport r = sync(*device, *hub, replication_options(options, stage + "settle", n));
      check(r.a_to_b, what);
      check(r.b_to_a, what);
    }
  };
  settle("the base dataset's sync");

  DelayProxy relay("127.0.0.1", port_of(server_url), profile.link);
  std::vector<LinkPhase> phases;

  // Each timed run starts on a device database at rest, as an `outpost
  // sync` process does.
  auto reopen = [&] {
    device.reset();
    device = open_bench_device(device_file, options.durability);
  };

  write_records(options, *device, n, step, 0, 1, stage + "device edits 1%");
  reopen();
  phases.push_back(timed(relay, "push_incremental", "push 1%", device_edits,
                         [&](HttpEngine& remote, LinkPhase& phase) {
                           run_with_reruns(phase, [&] {
                             return replicate(
                                 *device, remote,
                                 replication_options(options, stage + "push 1%", device_edits));
                           });
                         }));
  settle("catching up after the push");

  write_records(options, *hub, n, step, hub_first, 1, stage + "hub edits 1%");
  reopen();
  phases.push_back(timed(
      relay, "pull_incremental", "pull 1%", hub_edits, [&](HttpEngine& remote, LinkPhase& phase) {
        run_with_reruns(phase, [&] {
          return replicate(remote, *device,
                           replication_options(options, stage + "pull 1%", hub_edits));
        });
        const std::string changed = bench_record_id(hub_first);
        if (phase.failure.empty() &&
            device->get(kTable, changed)->revision != hub->get(kTable, changed)->revision) {
          phase.failure = "the hub's edit of " + changed + " did not arrive";
        }
      }));
  settle("catching up after the pull");

  reopen();
  phases.push_back(timed(relay, "idle", "idle sync", 0, [&](HttpEngine& remote, LinkPhase& phase) {
    run_with_reruns(phase, [&] {
      return sync(*device, remote, replication_options(options, stage + "idle", 0));
    });
  }));

  device.reset();
  phases.push_back(
      timed(relay, "first_pull", "first pull", n, [&](HttpEngine& remote, LinkPhase& phase) {
        auto fresh = open_bench_device(fresh_file, options.durability);
        run_with_reruns(phase, [&] {
          return replicate(remote, *fresh, replication_options(options, stage + "first pull", n));
        });
        if (phase.failure.empty()) {
          const size_t held = count_records(*fresh);
          if (held != n) {
            phase.failure = "the fresh device holds " + std::to_string(held) +
                            " records, expected " + std::to_string(n);
          }
        }
      }));
  return phases;
}

namespace {

std::string kilobytes(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f kB", static_cast<double>(bytes) / 1e3);
  return text;
}

BenchFigure phase_figure(const LinkBenchProfile& profile, const LinkPhase& phase) {
  BenchFigure f;
  f.name = profile.name + "_" + phase.name;
  f.rates = false;
  f.records = phase.records;
  f.engine_seconds = phase.seconds;
  const bool per_record = phase.name == "push_incremental" || phase.name == "pull_incremental";
  const double bytes_per_record =
      per_record && phase.records > 0 ? static_cast<double>(phase.wire_bytes) / phase.records : 0;
  char text[512];
  std::snprintf(text, sizeof text,
                "  %-10s %7zu rec %8.2f s  round trips %3llu  requests %4llu  wire %10s  "
                "plain %10s  | relay: exchanges %4llu  connections %3llu  cut %2llu  up %10s  "
                "down %10s",
                phase.label.c_str(), phase.records, phase.seconds,
                static_cast<unsigned long long>(phase.round_trips),
                static_cast<unsigned long long>(phase.requests),
                kilobytes(phase.wire_bytes).c_str(), kilobytes(phase.plain_bytes).c_str(),
                static_cast<unsigned long long>(phase.link.exchanges),
                static_cast<unsigned long long>(phase.link.connections),
                static_cast<unsigned long long>(phase.link.dropped),
                kilobytes(phase.link.bytes_up).c_str(), kilobytes(phase.link.bytes_down).c_str());
  f.label = text;
  if (per_record) {
    char per[48];
    std::snprintf(per, sizeof per, "  %.0f B/record on the wire", bytes_per_record);
    f.label += per;
  }
  if (phase.reruns > 0) f.label += "  reruns " + std::to_string(phase.reruns);
  if (!phase.failure.empty()) f.label += "  FAILED: " + phase.failure;
  f.values = {{"seconds", phase.seconds},
              {"round_trips", static_cast<double>(phase.round_trips)},
              {"requests", static_cast<double>(phase.requests)},
              {"wire_bytes", static_cast<double>(phase.wire_bytes)},
              {"plain_bytes", static_cast<double>(phase.plain_bytes)},
              {"reruns", static_cast<double>(phase.reruns)},
              {"exchanges", static_cast<double>(phase.link.exchanges)},
              {"connections", static_cast<double>(phase.link.connections)},
              {"connections_cut", static_cast<double>(phase.link.dropped)},
              {"relay_bytes_up", static_cast<double>(phase.link.bytes_up)},
              {"relay_bytes_down", static_cast<double>(phase.link.bytes_down)},
              {"failed", phase.failure.empty() ? 0.0 : 1.0}};
  if (per_record) f.values.push_back({"bytes_per_record", bytes_per_record});
  return f;
}

}  // namespace

BenchReport run_link_bench(const BenchOptions& options) {
  bool postgres = false;
  const std::string url = served_bench_url(options.db_url, options.records, "link", postgres);

  ScratchDir dir(options.dir);
  BenchReport result;
  result.scenario = "link";
  result.backend = postgres ? "postgres server" : "sqlite server";
  result.durability = options.durability == Durability::full ? "full" : "normal";
  result.baseline = "none";
  result.location = dir.path().parent_path().string();

  const std::vector<LinkBenchProfile> profiles =
      select_link_profiles(link_bench_profiles(options.records), options.link_profiles);
  for (const LinkBenchProfile& profile : profiles) {
    // A fresh hub for each profile, behind its own server.
    std::optional<ScratchSchema> pg;
    std::string hub_url = "sqlite:" + (dir.path() / (profile.name + "-hub.db")).string();
    if (postgres) {
      pg.emplace(url, "link_" + profile.name);
      hub_url = pg->engine_url();
    }
    ServerProcess server(dir.path(), hub_url, options.durability, false, "serve-" + profile.name);
    BenchFigure heading;
    heading.name = profile.name;
    heading.rates = false;
    heading.records = profile.records;
    heading.label = profile.label + ", " + std::to_string(profile.records) + " records:";
    result.figures.push_back(heading);
    for (const LinkPhase& phase : run_link_profile(profile, server.url(), dir.path(), options)) {
      result.figures.push_back(phase_figure(profile, phase));
    }
  }
  return result;
}

}  // namespace outpost
