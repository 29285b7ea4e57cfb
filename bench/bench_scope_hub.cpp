#include "bench/bench_scope_hub.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <latch>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "api/engine.h"
#include "api/error.h"
#include "api/tokens.h"
#include "bench/bench_common.h"
#include "bench/scope_households.h"
#include "client/http_engine.h"
#include "reconciler/replicator.h"
#include "reconciler/scoping.h"

namespace outpost {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Client threads of the hub_memory requests.
constexpr size_t kMemoryClients = 4;
// Threads that make the hub's changes through the admin token.
constexpr size_t kWriters = 4;

// Records of `district` among [0, records).
size_t district_size(size_t records, size_t district) {
  return records > district ? (records - district + kDistricts - 1) / kDistricts : 0;
}

std::unique_ptr<Engine> open_url(const BenchOptions& options, const std::string& url) {
  OpenOptions open_options;
  open_options.durability = options.durability;
  return open_engine(url, open_options);
}

std::unique_ptr<HttpEngine> client(const std::string& url, const std::string& secret) {
  HttpClientOptions o;
  o.token = secret;
  return open_http_engine(url, o);
}

// A token reading and writing `scope` (empty: the households table, `*`).
std::string create_token(Engine& db, const std::string& name, const std::string& scope,
                         bool write = true) {
  TokenStore* store = db.tokens();
  if (store == nullptr) throw Error(ErrorCode::unavailable, "bench: the hub holds no tokens");
  Token t;
  t.name = name;
  if (scope.empty()) {
    t.read = {kHouseholds};
    if (write) t.write = {kHouseholds};
  } else {
    t.scope = scope;
    if (write) t.write_scope = scope;
  }
  return store->create_token(t);
}

std::string create_admin(Engine& db) {
  Token t;
  t.name = "bench-admin";
  t.admin = true;
  return db.tokens()->create_token(t);
}

// hub_memory's scopes: each names the pulled district and a district that
// does not exist, so that every request reads the same records and the
// scopes differ only in their text and fingerprint.
std::string memory_scope(size_t pulled, size_t k) {
  char other[16];
  std::snprintf(other, sizeof other, "x%05zu", k);
  return std::string(kHouseholds) + ": district IN ('" + district_name(pulled) + "', '" + other +
         "')";
}

void check(const ReplicationReport& r, const std::string& what) {
  if (r.fatal) throw Error(r.fatal->code(), "bench: " + what + ": " + r.fatal->what());
  if (!r.errors.empty()) {
    throw Error(r.errors[0].code, "bench: " + what + " reported " +
                                      std::to_string(r.errors.size()) +
                                      " errors, the first: " + r.errors[0].message);
  }
}

ReplicationOptions replication_options() {
  ReplicationOptions ro;
  ro.batch_size = kScopeBatch;
  return ro;
}

// `outpost sync --pull` into a fresh device: adopt the token's scope, then
// pull. Returns the seconds; `expected` revisions must arrive.
double timed_pull(Engine& device, HttpEngine& hub, size_t expected, const std::string& what) {
  const auto start = Clock::now();
  adopt_token_scope(device, hub);
  ReplicationReport r = replicate(hub, device, replication_options());
  const double seconds = seconds_since(start);
  check(r, what);
  if (r.revisions_written != expected) {
    throw Error(ErrorCode::internal, "bench: " + what + " wrote " +
                                         std::to_string(r.revisions_written) +
                                         " revisions, expected " + std::to_string(expected));
  }
  return seconds;
}

// `outpost sync`: adopt the token's scope (unchanged here: one GET /v1),
// then push and pull. Returns the seconds; `expected` revisions must arrive.
double timed_sync(Engine& device, HttpEngine& hub, size_t expected, const std::string& what) {
  const auto start = Clock::now();
  adopt_token_scope(device, hub);
  SyncReport r = sync(device, hub, replication_options());
  const double seconds = seconds_since(start);
  check(r.a_to_b, what + " (push)");
  check(r.b_to_a, what + " (pull)");
  if (r.b_to_a.revisions_written != expected) {
    throw Error(ErrorCode::internal, "bench: " + what + " pulled " +
                                         std::to_string(r.b_to_a.revisions_written) +
                                         " revisions, expected " + std::to_string(expected));
  }
  return seconds;
}

// Runs job(k) for k in [0, n) on a thread each, released together; returns
// the wall time from the release to the last one's end. Rethrows the first
// failure.
double all_at_once(size_t n, const std::function<void(size_t)>& job) {
  std::vector<std::exception_ptr> failures(n);
  std::latch ready(static_cast<std::ptrdiff_t>(n) + 1);
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (size_t k = 0; k < n; ++k) {
    threads.emplace_back([&, k] {
      ready.arrive_and_wait();
      try {
        job(k);
      } catch (...) {
        failures[k] = std::current_exception();
      }
    });
  }
  const auto start = Clock::now();
  ready.arrive_and_wait();
  for (std::thread& t : threads) t.join();
  const double seconds = seconds_since(start);
  for (const std::exception_ptr& f : failures) {
    if (f) std::rethrow_exception(f);
  }
  return seconds;
}

// The nearest-rank percentile p (0-100) of `values`.
double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

struct Secrets {
  std::string admin;                 // large hub
  std::string pulled;                // large hub, the pulled district
  std::string small;                 // small hub, unscoped
  std::vector<std::string> devices;  // large hub, district k for device k
  std::vector<std::string> memory;   // large hub, distinct scopes
  double memory_seconds = 0;         // creating `memory` (not a figure of the hub's serving)
};

Secrets create_tokens(const BenchOptions& options, const ScopeHubDatabases& dbs) {
  Secrets s;
  {
    std::unique_ptr<Engine> small = open_url(options, dbs.small_url);
    s.small = create_token(*small, "bench-all", "");
  }
  std::unique_ptr<Engine> large = open_url(options, dbs.large_url);
  s.admin = create_admin(*large);
  s.pulled = create_token(*large, "bench-pull", district_scope_text(dbs.pulled));
  for (size_t k = 0; k < options.devices; ++k) {
    s.devices.push_back(
        create_token(*large, "bench-device-" + std::to_string(k), district_scope_text(k)));
  }
  const auto start = Clock::now();
  for (size_t k = 0; k < options.tokens; ++k) {
    s.memory.push_back(
        create_token(*large, "bench-mem-" + std::to_string(k), memory_scope(dbs.pulled, k), false));
    if (k % 100 == 99) options.notify("scope: creating tokens", k + 1, options.tokens);
  }
  s.memory_seconds = seconds_since(start);
  return s;
}

// --- token_pull --------------------------------------------------------------

BenchFigure token_pull(const BenchOptions& options, const ScopeHubDatabases& dbs,
                       const Secrets& secrets, ServerProcess& large, ServerProcess& small) {
  const size_t expected = district_size(dbs.records, dbs.pulled);
  std::unique_ptr<Engine> from_small =
      open_url(options, "sqlite:" + (dbs.dir / "pull_small.db").string());
  std::unique_ptr<Engine> from_large =
      open_url(options, "sqlite:" + (dbs.dir / "pull_large.db").string());
  options.notify("scope: pull with a scoped token", 0, expected);
  std::unique_ptr<HttpEngine> small_hub = client(small.url(), secrets.small);
  const double small_seconds =
      timed_pull(*from_small, *small_hub, expected, "the pull from the district's hub");
  std::unique_ptr<HttpEngine> large_hub = client(large.url(), secrets.pulled);
  const double large_seconds =
      timed_pull(*from_large, *large_hub, expected, "the pull with a scoped token");
  if (!from_large->scope()) {
    throw Error(ErrorCode::internal, "bench: the device did not adopt its token's scope");
  }

  BenchFigure f;
  f.name = "token_pull";
  const double time_ratio = small_seconds > 0 ? large_seconds / small_seconds : 0;
  f.label = "initial pull through outpost serve with a token scoped to 1 district of " +
            count_text(dbs.records) + " records (" + fixed(large_seconds, 3) +
            " s) vs an unscoped token on a hub of only its records (" + fixed(small_seconds, 3) +
            " s): time ratio " + fixed(time_ratio, 2) + " (target <= 1.5)";
  f.records = expected;
  f.per_transaction = kScopeBatch;
  f.engine_seconds = large_seconds;
  f.baseline_seconds = small_seconds;
  f.values = {{"scoped_seconds", large_seconds},
              {"small_hub_seconds", small_seconds},
              {"time_ratio", time_ratio}};
  return f;
}

// --- devices -----------------------------------------------------------------

// Changes `per_district` records of every district on the hub (those from
// the `first`-th of each district on), through its admin token.
size_t change_every_district(const BenchOptions& options, HttpEngine& admin, size_t records,
                             size_t per_district, size_t first, size_t version) {
  std::vector<std::vector<size_t>> parts(kWriters);
  size_t total = 0;
  for (size_t d = 0; d < kDistricts; ++d) {
    for (size_t j = first; j < first + per_district; ++j) {
      const size_t i = d + j * kDistricts;
      if (i >= records) break;
      parts[total++ % kWriters].push_back(i);
    }
  }
  options.notify("scope: changes on the hub", 0, total);
  all_at_once(kWriters, [&](size_t w) { update_households(admin, parts[w], version); });
  return total;
}

BenchFigure devices(const BenchOptions& options, const ScopeHubDatabases& dbs,
                    const Secrets& secrets, ServerProcess& large) {
  const size_t n = options.devices;
  std::vector<std::unique_ptr<Engine>> device(n);
  std::vector<std::unique_ptr<HttpEngine>> hub(n);
  size_t smallest = dbs.records;
  for (size_t k = 0; k < n; ++k) {
    device[k] =
        open_url(options, "sqlite:" + (dbs.dir / ("device_" + std::to_string(k) + ".db")).string());
    hub[k] = client(large.url(), secrets.devices[k]);
    smallest = std::min(smallest, district_size(dbs.records, k));
  }
  options.notify("scope: devices' first pull", 0, n);
  all_at_once(n, [&](size_t k) {
    timed_pull(*device[k], *hub[k], district_size(dbs.records, k),
               "device " + std::to_string(k) + "'s first pull");
  });

  // 1% of every district changes before each round; each device pulls its own.
  const size_t per_district = std::max<size_t>(1, smallest / 100);
  std::unique_ptr<HttpEngine> admin = client(large.url(), secrets.admin);
  const size_t changed = change_every_district(options, *admin, dbs.records, per_district, 0, 2);
  options.notify("scope: devices one at a time", 0, n);
  std::vector<double> alone(n);
  for (size_t k = 0; k < n; ++k) {
    alone[k] = timed_sync(*device[k], *hub[k], per_district,
                          "device " + std::to_string(k) + "'s sync alone");
  }
  change_every_district(options, *admin, dbs.records, per_district, per_district, 3);
  options.notify("scope: devices at once", 0, n);
  std::vector<double> together(n);
  const double wall = all_at_once(n, [&](size_t k) {
    together[k] = timed_sync(*device[k], *hub[k], per_district,
                             "device " + std::to_string(k) + "'s sync at once");
  });

  double alone_total = 0;
  for (double s : alone) alone_total += s;
  const double p50 = percentile(together, 50), p99 = percentile(together, 99);
  const size_t pulled = n * per_district;
  BenchFigure f;
  f.name = "devices";
  f.label = std::to_string(n) + " devices with a district's token each sync at once (" +
            std::to_string(per_district) + " of " + count_text(changed) +
            " hub changes each): per device p50 " + fixed(p50, 3) + " s, p99 " + fixed(p99, 3) +
            " s, all " + fixed(wall, 3) + " s; vs one at a time (p50 " +
            fixed(percentile(alone, 50), 3) + " s, total " + fixed(alone_total, 3) + " s)";
  f.records = pulled;
  f.per_transaction = kScopeBatch;
  f.engine_seconds = wall;
  f.baseline_seconds = alone_total;
  f.values = {{"devices", static_cast<double>(n)},
              {"aggregate_records_per_s", wall > 0 ? static_cast<double>(pulled) / wall : 0},
              {"p50_seconds", p50},
              {"p99_seconds", p99},
              {"wall_seconds", wall},
              {"alone_p50_seconds", percentile(alone, 50)},
              {"alone_p99_seconds", percentile(alone, 99)},
              {"alone_total_seconds", alone_total}};
  return f;
}

// --- hub_memory --------------------------------------------------------------

struct Memory {
  size_t start_kib = 0;  // VmRSS once the server listens
  size_t rss_kib = 0;    // VmRSS after the requests
  size_t peak_kib = 0;   // VmHWM after the requests
  double seconds = 0;
};

// A fresh server on the large hub answers one request per secret (a new
// connection each): even ones list records, odd ones read the feed.
Memory serve_requests(const BenchOptions& options, const ScopeHubDatabases& dbs,
                      const std::string& large_url, const std::vector<std::string>& secrets,
                      const std::string& name) {
  ServerProcess server(dbs.dir, large_url, options.durability, true, name);
  Memory m;
  m.start_kib = process_status_kib(server.pid(), "VmRSS");
  std::atomic<size_t> next{0};
  const size_t total = secrets.size();
  m.seconds = all_at_once(kMemoryClients, [&](size_t) {
    for (size_t k = next++; k < total; k = next++) {
      std::unique_ptr<HttpEngine> hub = client(server.url(), secrets[k]);
      hub->request("GET", k % 2 == 0
                              ? "/v1/tables/" + std::string(kHouseholds) + "/records?limit=10"
                              : std::string("/v1/changes?limit=10"));
      if (k % 100 == 99) options.notify("scope: hub memory, " + name, k + 1, total);
    }
  });
  m.rss_kib = process_status_kib(server.pid(), "VmRSS");
  m.peak_kib = process_status_kib(server.pid(), "VmHWM");
  return m;
}

BenchFigure hub_memory(const BenchOptions& options, const ScopeHubDatabases& dbs,
                       const Secrets& secrets) {
  const size_t n = secrets.memory.size();
  const Memory one = serve_requests(options, dbs, dbs.large_url,
                                    std::vector<std::string>(n, secrets.memory[0]), "serve_one");
  const Memory many = serve_requests(options, dbs, dbs.large_url, secrets.memory, "serve_many");
  auto mib = [](size_t kib) { return static_cast<double>(kib) / 1024.0; };
  const double difference = mib(many.rss_kib) - mib(one.rss_kib);
  BenchFigure f;
  f.name = "hub_memory";
  f.rates = false;
  f.label = "hub RSS (outpost serve) after " + count_text(n) + " requests with " + count_text(n) +
            " distinct token scopes: " + fixed(mib(many.rss_kib), 1) + " MiB (peak " +
            fixed(mib(many.peak_kib), 1) + ", at start " + fixed(mib(many.start_kib), 1) +
            ") vs with 1 token: " + fixed(mib(one.rss_kib), 1) + " MiB (peak " +
            fixed(mib(one.peak_kib), 1) + ", at start " + fixed(mib(one.start_kib), 1) +
            "); difference " + fixed(difference, 1) + " MiB (target < 50); the " + count_text(n) +
            " tokens were created in " + fixed(secrets.memory_seconds, 1) + " s";
  f.records = n;
  f.engine_seconds = many.seconds;
  f.baseline_seconds = one.seconds;
  f.values = {{"requests", static_cast<double>(n)},
              {"rss_distinct_tokens_mib", mib(many.rss_kib)},
              {"rss_one_token_mib", mib(one.rss_kib)},
              {"rss_difference_mib", difference},
              {"peak_distinct_tokens_mib", mib(many.peak_kib)},
              {"peak_one_token_mib", mib(one.peak_kib)},
              {"start_distinct_tokens_mib", mib(many.start_kib)},
              {"start_one_token_mib", mib(one.start_kib)},
              {"distinct_tokens_seconds", many.seconds},
              {"one_token_seconds", one.seconds},
              {"create_tokens_seconds", secrets.memory_seconds}};
  return f;
}

}  // namespace

void run_scope_hub_benches(const BenchOptions& options, const ScopeHubDatabases& dbs,
                           BenchReport& report) {
  if (options.devices > kDistricts) {
    throw Error(ErrorCode::invalid_value, "bench: --devices is at most " +
                                              std::to_string(kDistricts) + " (one district each)");
  }
  if (options.devices > 0 && dbs.records < options.devices) {
    throw Error(ErrorCode::invalid_value, "bench: fewer records than devices");
  }
  options.notify("scope: creating tokens", 0, options.tokens);
  const Secrets secrets = create_tokens(options, dbs);
  {
    ServerProcess large(dbs.dir, dbs.large_url, options.durability, true, "serve_large");
    ServerProcess small(dbs.dir, dbs.small_url, options.durability, true, "serve_small");
    report.figures.push_back(token_pull(options, dbs, secrets, large, small));
  }
  if (options.devices > 0) {
    // The devices all connect from 127.0.0.1, each with a connection pool
    // of its own; real ones come from as many addresses.
    ServerProcess large(dbs.dir, dbs.large_url, options.durability, true, "serve_devices",
                        {"--max-connections-per-address", "100000"});
    report.figures.push_back(devices(options, dbs, secrets, large));
  }
  if (options.tokens > 0) report.figures.push_back(hub_memory(options, dbs, secrets));
}

}  // namespace outpost
