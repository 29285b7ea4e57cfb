// Helpers of the replication tests: peers on the conformance backends, a
// canonical snapshot of everything replication must make equal, and
// options suited to tests (fast retries).
// Thread-safety: single-threaded test helpers.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/backends.h"
#include "reconciler/replicator.h"

namespace outpost::test {

// One database of a replication test.
struct Peer {
  std::string name;  // "p0 (sqlite)"
  std::unique_ptr<TestDatabase> db;
  std::unique_ptr<Engine> engine;  // opened with Durability::normal, to keep tests quick

  Engine& operator*() { return *engine; }
};

// `n` fresh peers. With `mixed` and PostgreSQL configured, every other peer
// is on PostgreSQL (peer 1, 3, ...); otherwise all are SQLite, and a note
// saying so is printed once.
std::vector<Peer> make_peers(size_t n, bool mixed = true);

// Options for tests: quick retries, a given batch size.
ReplicationOptions test_options(size_t batch = 1000);

// Everything replication must make identical, as text: table definitions
// (columns as a set), and for every record the feed knows (live or deleted)
// the winner, deleted flag, sorted leaves (from the feed and from
// revs_diff), and for live ones the attributes and sorted conflicts; also the
// live records list_records returns and the problems check() finds.
std::string snapshot(Engine& engine);

// REQUIREs that every peer's snapshot equals peer 0's (shows the first
// difference), and that none reports a check() problem.
void require_converged(std::vector<Peer>& peers);

// REQUIREs that the run ended without a fatal error or cancellation.
void require_ok(const ReplicationReport& report);

// The first differing line of two snapshots, with context, for messages.
std::string first_difference(const std::string& a, const std::string& b);

}  // namespace outpost::test
