#include "bench/bench_http.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "api/engine.h"
#include "api/error.h"
#include "bench/bench_common.h"
#include "bench/delay_proxy.h"
#include "client/http_engine.h"
#include "reconciler/replicator.h"

namespace outpost {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kTable = kBenchTable;

// Rounds of the 1% incremental sync; each updates a different 1%, and each
// figure is the median of its runs (one run alone says little on a busy
// machine).
constexpr size_t kIncrementalRounds = 5;
static_assert(kIncrementalRounds % 2 == 1, "the median of an odd count is one of the runs");

// The slow link the incremental rounds run over once more: each way takes
// this long, so a round trip takes twice as long (a satellite link, or a
// mobile network on a bad day).
constexpr std::chrono::milliseconds kSlowLinkOneWay{25};

// Writes records first, first + step, ... below count: version 0 when step
// is 1 (new records), else version 1 of records that exist.
void write_records(const BenchOptions& options, Engine& engine, size_t count, size_t batch,
                   size_t step, std::string_view stage, size_t first = 0) {
  std::vector<Edit> edits;
  for (size_t i = first; i < count; i += step) {
    Edit e;
    e.table = kTable;
    e.id = bench_record_id(i);
    if (step > 1) e.parent = engine.get(kTable, e.id)->revision;
    e.attributes = bench_record(i, step > 1 ? 1 : 0);
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

// Closes and opens again a device database: each timed run starts on a
// database at rest, as an `outpost sync` process does. (Closing finishes the
// WAL checkpoint the previous phase left to the background, which would
// otherwise compete with the next timed phase for the two cores.)
void reopen(const BenchOptions& options, std::unique_ptr<Engine>& engine, const fs::path& file) {
  engine.reset();
  engine = open_bench_device(file, options.durability);
}

struct Timed {
  double seconds = 0;
  uint64_t bytes = 0;
};

// The runs of one incremental figure, one per round.
struct Rounds {
  std::vector<Timed> runs;

  static bool faster(const Timed& a, const Timed& b) { return a.seconds < b.seconds; }
  Timed median() const {
    std::vector<Timed> sorted = runs;
    std::sort(sorted.begin(), sorted.end(), faster);
    return sorted[sorted.size() / 2];
  }
  // "0.061-0.088 s"
  std::string spread() const {
    auto [low, high] = std::minmax_element(runs.begin(), runs.end(), faster);
    char text[64];
    std::snprintf(text, sizeof text, "%.3f-%.3f s", low->seconds, high->seconds);
    return text;
  }
};

Timed timed_replicate(const BenchOptions& options, Engine& source, Engine& target,
                      std::string_view stage, size_t expected, [[maybe_unused]] HttpEngine* http) {
  ReplicationOptions ro;
  ro.batch_size = options.batch == 0 ? 1000 : options.batch;
  ro.progress = [&](const ReplicationProgress& p) {
    options.notify(stage, static_cast<size_t>(p.changes_read), expected);
  };
  const auto start = Clock::now();
  ReplicationReport report = replicate(source, target, ro);
  Timed t;
  t.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  t.bytes = report.traffic ? report.traffic->wire_bytes : 0;
  if (report.fatal) throw *report.fatal;
  if (!report.errors.empty()) {
    throw Error(report.errors[0].code, "bench: replication reported " +
                                           std::to_string(report.errors.size()) +
                                           " errors, the first: " + report.errors[0].message);
  }
  if (report.changes_read != expected) {
    throw Error(ErrorCode::internal, "bench: " + std::string(stage) + " read " +
                                         std::to_string(report.changes_read) +
                                         " changes, expected " + std::to_string(expected));
  }
  return t;
}

// The port of "http://host:port".
uint16_t port_of(const std::string& url) {
  return static_cast<uint16_t>(std::stoul(url.substr(url.rfind(':') + 1)));
}

// `over`: "over HTTP", or what else the HTTP runs went over.
BenchFigure figure(std::string name, std::string what, size_t records, size_t batch,
                   const Timed& http, const Timed& local, std::string_view note = {},
                   std::string_view over = "over HTTP") {
  BenchFigure f;
  f.name = std::move(name);
  char label[300];
  std::snprintf(label, sizeof label, "%s %.*s (%.3f s, %.1f MB) vs in process (%.3f s)%s%.*s",
                what.c_str(), static_cast<int>(over.size()), over.data(), http.seconds,
                static_cast<double>(http.bytes) / 1e6, local.seconds, note.empty() ? "" : "; ",
                static_cast<int>(note.size()), note.empty() ? "" : note.data());
  f.label = label;
  f.records = records;
  f.per_transaction = batch;
  f.engine_seconds = http.seconds;
  f.baseline_seconds = local.seconds;
  return f;
}

}  // namespace

BenchReport run_http_bench(const BenchOptions& options) {
  bool postgres = false;
  const std::string url = served_bench_url(options.db_url, options.records, "http", postgres);
  const size_t n = options.records;
  const size_t batch = options.batch == 0 ? 1000 : options.batch;
  const size_t step = n >= 100 ? 100 : n;  // 1% of the records
  const size_t updated = (n + step - 1) / step;
  // Round r updates records r, r + step, ...: as many as round 0 while r is
  // below `firsts` (fewer than step when n is not a multiple of it).
  const size_t firsts = std::min(step, n - (updated - 1) * step);

  ScratchDir dir(options.dir);
  std::optional<ScratchSchema> pg;
  std::string hub_url = "sqlite:" + (dir.path() / "hub.db").string();
  if (postgres) {
    pg.emplace(url, "hub");
    hub_url = pg->engine_url();
  }
  BenchReport result;
  result.scenario = "http";
  result.backend = postgres ? "postgres server" : "sqlite server";
  result.durability = options.durability == Durability::full ? "full" : "normal";
  result.baseline = "in-process";
  result.location = dir.path().parent_path().string();

  const fs::path device_file = dir.path() / "device.db";
  const fs::path local_hub_file = dir.path() / "local_hub.db";
  const fs::path local_copy_file = dir.path() / "local_copy.db";
  const fs::path copy_file = dir.path() / "copy.db";
  auto device = open_bench_device(device_file, options.durability);
  device->put_table(bench_table());
  write_records(options, *device, n, batch, 1, "device writes");

  // In process: device → local hub → fresh device.
  auto local_hub = open_bench_device(local_hub_file, options.durability);
  auto local_copy = open_bench_device(local_copy_file, options.durability);
  reopen(options, device, device_file);
  const Timed local_push =
      timed_replicate(options, *device, *local_hub, "in-process push", n, nullptr);
  reopen(options, local_hub, local_hub_file);
  const Timed local_pull =
      timed_replicate(options, *local_hub, *local_copy, "in-process pull", n, nullptr);

  // Over HTTP: device → server → fresh device.
  ServerProcess server(dir.path(), hub_url, options.durability);
  HttpClientOptions client;
  std::unique_ptr<HttpEngine> hub = open_http_engine(server.url(), client);
  auto copy = open_bench_device(copy_file, options.durability);
  reopen(options, device, device_file);
  const Timed http_push = timed_replicate(options, *device, *hub, "push over HTTP", n, hub.get());
  const Timed http_pull = timed_replicate(options, *hub, *copy, "pull over HTTP", n, hub.get());
  if (!copy->get(kTable, bench_record_id(n - 1))) {
    throw Error(ErrorCode::internal, "bench: the last record did not arrive");
  }

  // One incremental round over HTTP through `remote`: the device pushes its
  // changed 1%, the copy pulls it, and the change must have arrived.
  auto http_round = [&](HttpEngine& remote, std::string_view how, Rounds& push, Rounds& pull,
                        size_t first) {
    reopen(options, device, device_file);
    push.runs.push_back(
        timed_replicate(options, *device, remote, "push 1% " + std::string(how), updated, &remote));
    reopen(options, copy, copy_file);
    pull.runs.push_back(
        timed_replicate(options, remote, *copy, "pull 1% " + std::string(how), updated, &remote));
    const std::string changed = bench_record_id(first);
    if (copy->get(kTable, changed)->revision != device->get(kTable, changed)->revision) {
      throw Error(ErrorCode::internal, "bench: the incremental pull did not arrive");
    }
  };

  // Each round, a different 1% of the records changes on the device; both
  // hubs and copies catch up.
  Rounds local_push_1, local_pull_1, http_push_1, http_pull_1;
  for (size_t round = 0; round < kIncrementalRounds; ++round) {
    const size_t first = round % firsts;
    write_records(options, *device, n, batch, step, "updating 1%", first);
    reopen(options, device, device_file);
    reopen(options, local_hub, local_hub_file);
    local_push_1.runs.push_back(
        timed_replicate(options, *device, *local_hub, "in-process push 1%", updated, nullptr));
    reopen(options, local_hub, local_hub_file);
    reopen(options, local_copy, local_copy_file);
    local_pull_1.runs.push_back(
        timed_replicate(options, *local_hub, *local_copy, "in-process pull 1%", updated, nullptr));
    http_round(*hub, "over HTTP", http_push_1, http_pull_1, first);
  }

  // The same rounds again, through a relay that makes the link slow.
  DelayProxy link("127.0.0.1", port_of(server.url()), kSlowLinkOneWay);
  std::unique_ptr<HttpEngine> far_hub =
      open_http_engine("http://127.0.0.1:" + std::to_string(link.port()), client);
  Rounds slow_push_1, slow_pull_1;
  for (size_t round = 0; round < kIncrementalRounds; ++round) {
    const size_t first = (kIncrementalRounds + round) % firsts;
    write_records(options, *device, n, batch, step, "updating 1%", first);
    http_round(*far_hub, "over a slow link", slow_push_1, slow_pull_1, first);
  }
  const std::string rounds = "median of " + std::to_string(kIncrementalRounds) + " rounds, HTTP ";
  const double round_trip = 2 * std::chrono::duration<double>(kSlowLinkOneWay).count();
  char slow_link[64];
  std::snprintf(slow_link, sizeof slow_link, "over %.0f ms round trips", round_trip * 1000);
  // "median of 5 rounds = 6.1 round trips, HTTP 0.301-0.330 s"
  auto slow_note = [&](const Rounds& r) {
    char trips[48];
    std::snprintf(trips, sizeof trips, " = %.1f round trips, HTTP ",
                  r.median().seconds / round_trip);
    return "median of " + std::to_string(kIncrementalRounds) + " rounds" + trips + r.spread();
  };

  result.figures.push_back(
      figure("http_push", "push to an empty server", n, batch, http_push, local_push));
  result.figures.push_back(
      figure("http_pull", "pull into an empty device", n, batch, http_pull, local_pull));
  result.figures.push_back(figure(
      "http_push_incremental", "incremental push of " + std::to_string(updated) + " changed",
      updated, batch, http_push_1.median(), local_push_1.median(), rounds + http_push_1.spread()));
  result.figures.push_back(figure(
      "http_pull_incremental", "incremental pull of " + std::to_string(updated) + " changed",
      updated, batch, http_pull_1.median(), local_pull_1.median(), rounds + http_pull_1.spread()));
  result.figures.push_back(figure("http_push_incremental_slow_link",
                                  "incremental push of " + std::to_string(updated) + " changed",
                                  updated, batch, slow_push_1.median(), local_push_1.median(),
                                  slow_note(slow_push_1), slow_link));
  result.figures.push_back(figure("http_pull_incremental_slow_link",
                                  "incremental pull of " + std::to_string(updated) + " changed",
                                  updated, batch, slow_pull_1.median(), local_pull_1.median(),
                                  slow_note(slow_pull_1), slow_link));
  return result;
}

}  // namespace outpost
