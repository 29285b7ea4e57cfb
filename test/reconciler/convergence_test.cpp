// Convergence property test (DESIGN.md section 13): several peers, SQLite
// and PostgreSQL mixed when PostgreSQL is configured, random edits of every
// kind with random pairwise replications in between; after a final round of
// full syncs every peer holds the same tables, winners, conflicts and leaves,
// and no committed revision is missing anywhere.
// OUTPOST_TEST_SEED=N runs the one seed N (it is printed on failure).
#include <doctest/doctest.h>

#include <cstdlib>
#include <iostream>

#include "reconciler/peers.h"
#include "reconciler/workload.h"

namespace outpost::test {

namespace {

constexpr size_t kPeers = 4;
constexpr int kOperations = 2000;  // per seed: edits and syncs

std::vector<uint64_t> seeds() {
  const uint64_t first = test_seed();
  if (std::getenv("OUTPOST_TEST_SEED") != nullptr) return {first};
  return {first, first + 1, first + 2};
}

// A random replication between two random peers: one way or both, random
// batch size, sometimes a table filter.
void random_replication(Workload& w, std::vector<Peer>& peers, uint64_t& replications) {
  size_t i = w.pick(peers.size());
  size_t j = w.pick(peers.size() - 1);
  if (j >= i) ++j;
  static const size_t kBatches[] = {1, 2, 5, 17, 1000};
  ReplicationOptions options = test_options(kBatches[w.pick(5)]);
  if (w.chance(0.1)) options.tables = {w.chance(0.5) ? "items" : "notes"};
  if (w.chance(0.5)) {
    ReplicationReport r = replicate(*peers[i], *peers[j], options);
    INFO("replicate ", peers[i].name, " -> ", peers[j].name);
    require_ok(r);
    CHECK(r.errors.empty());
  } else {
    SyncReport r = sync(*peers[i], *peers[j], options);
    INFO("sync ", peers[i].name, " <-> ", peers[j].name);
    require_ok(r.combined());
    CHECK(r.combined().errors.empty());
  }
  ++replications;
}

}  // namespace

TEST_CASE("replication: convergence property: random edits and syncs, identical peers at the end") {
  for (uint64_t seed : seeds()) {
    CAPTURE(seed);
    INFO("reproduce with OUTPOST_TEST_SEED=", seed);
    Workload w(seed);
    auto peers = make_peers(kPeers);
    w.create_tables(*peers[0], *peers[2]);

    uint64_t edits = 0, replications = 0;
    for (int op = 0; op < kOperations; ++op) {
      if (w.chance(0.08)) {
        random_replication(w, peers, replications);
      } else if (!w.random_edit(*peers[w.pick(kPeers)]).empty()) {
        ++edits;
      }
    }
    // Final round: everyone syncs with peer 0, twice around.
    for (int round = 0; round < 2; ++round) {
      for (size_t i = 1; i < kPeers; ++i) {
        SyncReport r = sync(*peers[0], *peers[i], test_options());
        require_ok(r.combined());
        CHECK(r.combined().errors.empty());
      }
    }
    require_converged(peers);
    for (Peer& p : peers) {
      INFO("peer ", p.name);
      w.require_nothing_missing(*p);
    }
    // The workload really did what the property is about.
    const auto& counts = w.counts();
    auto count = [&](const char* kind) {
      auto it = counts.find(kind);
      return it == counts.end() ? uint64_t{0} : it->second;
    };
    CHECK(edits + replications >= 1900);
    CHECK(count("create") > 0);
    CHECK(count("update") > 0);
    CHECK(count("delete") > 0);
    CHECK(count("resolve") > 0);
    CHECK(count("update conflict") + count("delete conflict") > 0);
    CHECK(count("recreate") > 0);
    CHECK((*peers[0]).list_conflicts("", "", 1000).entries.size() > 0);
    MESSAGE("seed ", seed, ": ", edits, " edits, ", replications, " replications, ",
            (*peers[0]).list_conflicts("", "", 1000).entries.size(), " records in conflict");
  }
}

}  // namespace outpost::test
