// End to end over a dropping link (issue 17, "Drops"): a first pull of N
// records from an `outpost serve` hub (SQLite; PostgreSQL when
// OUTPOST_TEST_PG is set) through the bench relay (bench/delay_proxy.h),
// which cuts 10% of the exchanges mid-stream. The pull completes (rerun
// after a transient failure, as a user reruns `outpost sync`), every
// record arrives exactly once, the bytes on the wire stay within 1.3 times
// those of a clean run of the same data, and a run stopped after K batches
// is resumed from its last committed batch.
//
// N is 20 000, or OUTPOST_LINK_RECORDS (e.g. 100000, by hand). Outcomes and
// byte counts only; times are printed, never checked.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "api/engine.h"
#include "api/table.h"
#include "bench/delay_proxy.h"
#include "client/http_engine.h"
#include "e2e/e2e_common.h"
#include "e2e/processes.h"
#include "engine/backends.h"
#include "engine/open.h"
#include "reconciler/replicator.h"

namespace outpost::test {

namespace {

constexpr const char* kTable = "items";
constexpr size_t kBatch = 1000;
constexpr int kReruns = 10;  // transient failures tolerated per pull

size_t records_to_pull() {
  const char* text = std::getenv("OUTPOST_LINK_RECORDS");
  if (text == nullptr || *text == '\0') return 20000;
  const size_t n = std::strtoul(text, nullptr, 10);
  REQUIRE_MESSAGE(n >= 4 * kBatch, "OUTPOST_LINK_RECORDS must be at least " << 4 * kBatch);
  return n;
}

std::string id_of(size_t i) {
  char id[32];
  std::snprintf(id, sizeof id, "rec%08zu", i);
  return id;
}

// N records as a field app writes them: a name, a number, and a note of
// 32 hex digits that compresses no better than real data does.
void fill(Engine& hub, size_t n) {
  hub.put_table(items_table());
  uint64_t state = 0x9e3779b97f4a7c15ULL;
  std::vector<Edit> edits;
  for (size_t i = 0; i < n; ++i) {
    char note[40];
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const uint64_t a = state;
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    std::snprintf(note, sizeof note, "%016llx%016llx", static_cast<unsigned long long>(a),
                  static_cast<unsigned long long>(state));
    Edit e;
    e.table = kTable;
    e.id = id_of(i);
    e.attributes = item("patient " + std::to_string(i), static_cast<int64_t>(i % 97));
    e.attributes.emplace("note", Value::from_string(note));
    edits.push_back(std::move(e));
    if (edits.size() == kBatch || i + 1 == n) {
      for (const WriteResult& r : hub.write(edits)) REQUIRE(r.ok());
      edits.clear();
    }
  }
}

int64_t count_rows(const TestDatabase& db, const std::string& table) {
  return std::stoll(db.raw_query("SELECT count(*) FROM \"" + table + "\"").at(0).at(0).value());
}

// A fresh engine on the relay, as a new `outpost sync` process has; quick
// retries so that the test does not spend its time waiting.
std::unique_ptr<HttpEngine> over(const DelayProxy& relay) {
  HttpClientOptions options;
  options.retry_base = std::chrono::milliseconds(5);
  options.retry_cap = std::chrono::milliseconds(50);
  return open_http_engine("http://127.0.0.1:" + std::to_string(relay.port()), options);
}

ReplicationOptions pull_options() {
  ReplicationOptions options;
  options.batch_size = kBatch;
  options.retry_base = std::chrono::milliseconds(10);
  options.retry_cap = std::chrono::milliseconds(200);
  return options;
}

bool transient(const ReplicationReport& report) {
  return report.fatal && report.fatal->code() == ErrorCode::unavailable;
}

// What the runs of one pull did together.
struct Pull {
  std::vector<ReplicationReport> runs;  // the last one ended other than transiently
  uint64_t changes_read = 0;
  uint64_t wire_bytes = 0;
  uint64_t plain_bytes = 0;
  uint64_t requests = 0;
  double seconds = 0;
  const ReplicationReport& last() const { return runs.back(); }
};

// Runs the pull from `relay`'s server into `device`, again while a run
// stops on a transient error (each time on a fresh engine, as a rerun of
// `outpost sync` would), and adds up what the runs moved.
Pull pull_through(const DelayProxy& relay, Engine& device,
                  const ReplicationOptions& options = pull_options()) {
  Pull pull;
  for (int attempt = 0; attempt <= kReruns; ++attempt) {
    std::unique_ptr<HttpEngine> remote = over(relay);
    pull.runs.push_back(replicate(*remote, device, options));
    const ReplicationReport& r = pull.runs.back();
    REQUIRE(r.traffic.has_value());
    pull.changes_read += r.changes_read;
    pull.wire_bytes += r.traffic->wire_bytes;
    pull.plain_bytes += r.traffic->plain_bytes;
    pull.requests += r.traffic->requests;
    pull.seconds += r.seconds;
    if (!transient(r)) break;
  }
  return pull;
}

std::string describe(const Pull& pull, const LinkCounters& link) {
  const ReplicationReport& r = pull.last();
  return std::to_string(pull.runs.size()) + " run(s), " + std::to_string(pull.changes_read) +
         " changes read, " + std::to_string(pull.requests) + " requests, wire " +
         std::to_string(pull.wire_bytes) + " B, plain " + std::to_string(pull.plain_bytes) +
         " B, " + std::to_string(pull.seconds) + " s; relay: " + std::to_string(link.exchanges) +
         " exchanges, " + std::to_string(link.connections) + " connections, " +
         std::to_string(link.dropped) + " cut, up " + std::to_string(link.bytes_up) + " B, down " +
         std::to_string(link.bytes_down) + " B; last run " +
         (r.fatal ? std::string("fatal: ") + r.fatal->what()
                  : std::to_string(r.errors.size()) + " errors");
}

// The device holds every record of the hub once, each with one revision,
// the hub's winner (`hub_feed` sorted by id).
void check_arrived_once(TestDatabase& device, const std::vector<Change>& hub_feed, size_t n) {
  CHECK(count_rows(device, kTable) == static_cast<int64_t>(n));
  CHECK(count_rows(device, history_table_name(kTable)) == static_cast<int64_t>(n));
  const std::vector<Change> feed = all_changes(device.engine());
  CHECK(feed.size() == n);
  const auto rows = device.raw_query("SELECT \"_id\", \"_rev\" FROM \"" + std::string(kTable) +
                                     "\" ORDER BY \"_id\"");
  REQUIRE(rows.size() == hub_feed.size());
  size_t differ = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].at(0).value() != hub_feed[i].id ||
        rows[i].at(1).value() != hub_feed[i].revision.str()) {
      ++differ;
    }
  }
  CHECK(differ == 0);
}

}  // namespace

TEST_CASE(
    "e2e link: a first pull over a link that cuts 10% of exchanges brings every record once") {
  const size_t n = records_to_pull();
  ScratchDir dir;
  HubDatabase hub_db = make_hub_database(dir.path());
  {
    std::unique_ptr<Engine> opened;
    Engine* hub = hub_db.postgres ? &hub_db.postgres->engine() : nullptr;
    if (hub == nullptr) {
      OpenOptions fast;
      fast.durability = Durability::normal;
      opened = open_engine(hub_db.url, fast);
      hub = opened.get();
    }
    fill(*hub, n);
  }
  ServeOptions serve(hub_db.url);
  serve.auth = false;
  ServeProcess server(dir.path(), serve);
  std::unique_ptr<HttpEngine> direct = open_http_engine(server.url());
  std::vector<Change> hub_feed = all_changes(*direct);
  REQUIRE(hub_feed.size() == n);
  std::sort(hub_feed.begin(), hub_feed.end(),
            [](const Change& a, const Change& b) { return a.id < b.id; });
  const uint16_t port =
      static_cast<uint16_t>(std::stoul(server.url().substr(server.url().rfind(':') + 1)));
  MESSAGE("e2e link: " << n << " records, hub on " << hub_db.backend);

  LinkProfile clean_link;
  clean_link.one_way = std::chrono::milliseconds(2);
  LinkProfile dropping_link = clean_link;
  dropping_link.drop_probability = 0.1;
  // A scheduled cut falls within the next 32 KiB: mostly inside the answer
  // that starts it (a chunk of bodies is about that size), else early in
  // the next exchange on that connection.
  dropping_link.drop_window = 32 * 1024;
  dropping_link.seed = 17;

  // The same pull on a clean link, for the bytes it takes.
  std::unique_ptr<TestDatabase> clean_device = test_backends().at(0).create();
  REQUIRE(clean_device->backend() == "sqlite");
  Pull clean;
  LinkCounters clean_counters;
  {
    DelayProxy relay("127.0.0.1", port, clean_link);
    clean = pull_through(relay, clean_device->engine());
    clean_counters = relay.counters();
  }
  MESSAGE("clean:    " << describe(clean, clean_counters));
  REQUIRE(clean.runs.size() == 1);
  REQUIRE(clean.last().ok());
  CHECK(clean.changes_read == n);
  CHECK(clean_counters.dropped == 0);
  check_arrived_once(*clean_device, hub_feed, n);
  clean_device.reset();

  DelayProxy relay("127.0.0.1", port, dropping_link);

  // The pull completes, every record once, within 1.3 times the clean
  // run's bytes.
  {
    std::unique_ptr<TestDatabase> device = test_backends().at(0).create();
    const Pull dropped = pull_through(relay, device->engine());
    const LinkCounters counters = relay.counters();
    MESSAGE("dropping: " << describe(dropped, counters));
    INFO(describe(dropped, counters));
    REQUIRE(dropped.last().ok());
    CHECK_FALSE(dropped.last().cancelled);
    // The link did cut: about one exchange in ten.
    CHECK(counters.dropped >= 1);
    CHECK(counters.dropped * 4 <= counters.exchanges + counters.dropped);
    check_arrived_once(*device, hub_feed, n);
    // Bytes, both as the client counted them and as the relay carried them.
    CHECK(dropped.wire_bytes <= clean.wire_bytes * 13 / 10);
    CHECK(counters.bytes_up + counters.bytes_down <=
          (clean_counters.bytes_up + clean_counters.bytes_down) * 13 / 10);
  }

  // A run stopped after K batches resumes from its last committed batch
  // (over the same dropping link).
  {
    relay.reset_counters();
    const size_t k = n / kBatch / 4;
    std::unique_ptr<TestDatabase> device = test_backends().at(0).create();
    std::stop_source stop;
    ReplicationOptions stopping = pull_options();
    size_t batches = 0;
    stopping.stop = stop.get_token();
    stopping.progress = [&](const ReplicationProgress&) {
      if (++batches == k) stop.request_stop();
    };
    const Pull first = pull_through(relay, device->engine(), stopping);
    MESSAGE("stopped after " << k << " batches: " << describe(first, relay.counters()));
    REQUIRE(first.last().cancelled);
    REQUIRE_FALSE(first.last().fatal);
    CHECK(batches >= k);
    CHECK(first.changes_read >= k * kBatch);
    CHECK(first.changes_read < n);
    const std::string stopped_at = first.last().last_seq;
    REQUIRE_FALSE(stopped_at.empty());

    relay.reset_counters();
    const Pull rest = pull_through(relay, device->engine());
    MESSAGE("rerun: " << describe(rest, relay.counters()));
    REQUIRE(rest.last().ok());
    // Picked up where the first run's checkpoint was, not from the start.
    CHECK(rest.runs.front().start_seq == stopped_at);
    // Each transient rerun may read its last batch again.
    CHECK(rest.changes_read <= n - k * kBatch + kBatch * rest.runs.size());
    check_arrived_once(*device, hub_feed, n);
  }
}

}  // namespace outpost::test
