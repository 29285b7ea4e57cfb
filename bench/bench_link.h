// The `link` scenario (issue 17): what a device pays to sync over a field
// link, with the real replicator and an `outpost serve` process behind the
// bench relay (bench/delay_proxy.h), on four link profiles:
//   fast     50 ms round trip, unlimited bandwidth
//   3G       300 ms round trip, 1 Mbit/s each way
//   2G       700 ms round trip, 128 kbit/s each way
//   2G-drop  2G, and 10% of exchanges (requests and their answers) schedule
//            a cut of the connection within the next 256 KiB (seeded;
//            delay_proxy.h)
// For each profile, on a fresh hub database (SQLite file, or a fresh schema
// of the --db postgres:... database) holding a base dataset already synced
// with a SQLite device:
//   push 1%     the device edits 1% of the records and pushes them
//   pull 1%     the hub edits another 1%, the device pulls them
//   idle sync   a two-way sync with nothing changed
//   first pull  a fresh device pulls every record
// Each timed run goes through a fresh HttpEngine (new connections, as a new
// `outpost sync` process would); the set-up and the catching up between the
// runs go straight to the server, around the relay. A run that stops on a
// transient error (unavailable: the link kept failing) is run again, up to
// 5 times, as a user would rerun `outpost sync`. The base dataset is
// BenchOptions::records on the fast profile (100 000 by default) and a tenth
// of it on the slow ones (BenchOptions::link_profiles picks profiles). Each
// row prints the time, the requests, round trips and bytes (on the wire and
// uncompressed) the replicator reports, what the relay saw (exchanges,
// connections, cuts, bytes each way), and for the 1% rounds the wire bytes
// per record.
// Figures only, never a pass or a fail.
// Thread-safety: see bench.h.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/bench.h"
#include "bench/delay_proxy.h"

namespace outpost {

struct LinkBenchProfile {
  std::string name;   // machine name: "fast", "3g", "2g", "2g_drop"
  std::string label;  // for people: "2G-drop (700 ms round trip, 128 kbit/s, 10% cut)"
  LinkProfile link;
  size_t records = 0;  // the base dataset and the first pull
};

// The four profiles, the fast one with `records` records, the others with a
// tenth of them (at least 1).
std::vector<LinkBenchProfile> link_bench_profiles(size_t records);

// The profiles named in `names` ("fast", "3G", "2G", "2G-drop", any case;
// the machine names too), in the order of `profiles`; all of them when
// `names` is empty. Throws Error(invalid_value) naming an unknown one and
// the known ones.
std::vector<LinkBenchProfile> select_link_profiles(std::vector<LinkBenchProfile> profiles,
                                                   const std::vector<std::string>& names);

// One timed run over the link.
struct LinkPhase {
  std::string name;    // machine name: "push_incremental", "pull_incremental", "idle", "first_pull"
  std::string label;   // "push 1%"
  size_t records = 0;  // the changes it was to move
  size_t moved = 0;    // changes the replicator read
  double seconds = 0;
  // The replicator's counts (ReplicationReport::traffic, SyncReport::traffic),
  // added up over the reruns.
  uint64_t requests = 0;  // HTTP requests, retries included
  uint64_t round_trips = 0;
  uint64_t wire_bytes = 0;   // both ways, bodies as sent (compressed)
  uint64_t plain_bytes = 0;  // the same, bodies uncompressed
  int reruns = 0;            // runs started again after a transient error (as a user would)
  LinkCounters link;         // what the relay saw during the run
  std::string failure;       // empty: the run ended well and its records arrived
};

// Runs the four phases of `profile` against the server at `server_url`,
// which serves a database with nothing in it; the device databases go in
// `dir`. A phase that fails is reported in its `failure` and the next one
// runs all the same. Throws Error when the set-up fails.
std::vector<LinkPhase> run_link_profile(const LinkBenchProfile& profile,
                                        const std::string& server_url,
                                        const std::filesystem::path& dir,
                                        const BenchOptions& options);

BenchReport run_link_bench(const BenchOptions& options);

}  // namespace outpost
