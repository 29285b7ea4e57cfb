// Convergence property test (DESIGN.md section 13): several peers, SQLite
// and PostgreSQL mixed when PostgreSQL is configured, random edits of every
// kind with random pairwise replications in between; after a final round of
// full syncs every peer holds the same tables, winners, conflicts and leaves,
// and no committed revision is missing anywhere.
// OUTPOST_TEST_SEED=N runs the one seed N (it is printed on failure).
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>

#include "api/refusals.h"
#include "engine/open.h"
#include "reconciler/peers.h"
#include "reconciler/served.h"
#include "reconciler/workload.h"
#include "reconciler/wrappers.h"

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

namespace {

// The edges: what a deployment meets within months.
constexpr int kEdgeOperations = 500;
constexpr size_t kServedLimit = 768 * 1024;  // the served peer's body limit
constexpr int kMaxDeepEdits = 5000;          // revs_limit is 1000

// The edge property's peers: peer 1 is also served by a real outpost server
// with a small body limit, and every replication to or from it crosses
// HTTP; SQLite peers other than it can be backed up and restored.
class EdgePeers {
 public:
  EdgePeers() : peers_(make_peers(kPeers)) {
    served_ = std::make_unique<ServedEngine>(*peers_[1], kServedLimit);
  }
  ~EdgePeers() { served_.reset(); }

  size_t size() const { return peers_.size(); }
  Peer& peer(size_t i) { return peers_[i]; }
  // The engine replications use for peer i.
  Engine& remote(size_t i) { return i == 1 ? **served_ : *peers_[i]; }
  // Local edits go to the database itself.
  Engine& local(size_t i) { return *peers_[i]; }
  std::vector<Peer>& all() { return peers_; }

  bool restorable(size_t i) const { return i != 1 && peers_[i].db->url().rfind("sqlite:", 0) == 0; }
  // Closes peer i, copies its file to a new backup, opens it again.
  void backup(size_t i) {
    const std::filesystem::path file = path_of(i);
    const std::filesystem::path copy =
        file.string() + ".backup" + std::to_string(backups_[i].size());
    reopen(i, [&] { copy_file(file, copy); });
    backups_[i].push_back(copy);
  }
  bool has_backup(size_t i) const {
    auto it = backups_.find(i);
    return it != backups_.end() && !it->second.empty();
  }
  // Puts backup k of peer i back in place of its database.
  void restore(size_t i, size_t k) {
    const std::filesystem::path file = path_of(i);
    reopen(i, [&] { copy_file(backups_[i][k], file); });
  }
  size_t backups(size_t i) { return backups_[i].size(); }

 private:
  std::filesystem::path path_of(size_t i) const {
    return peers_[i].db->url().substr(std::string("sqlite:").size());
  }
  template <typename Fn>
  void reopen(size_t i, Fn&& while_closed) {
    peers_[i].engine.reset();
    while_closed();
    OpenOptions options;
    options.durability = Durability::normal;
    peers_[i].engine = open_engine(peers_[i].db->url(), options);
  }
  static void copy_file(const std::filesystem::path& from, const std::filesystem::path& to) {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(to.string() + suffix);
      if (std::filesystem::exists(from.string() + suffix)) {
        std::filesystem::copy_file(from.string() + suffix, to.string() + suffix);
      }
    }
  }

  std::vector<Peer> peers_;
  std::unique_ptr<ServedEngine> served_;
  std::map<size_t, std::vector<std::filesystem::path>> backups_;
};

// Every refusal list a peer holds (local documents "refused-…").
size_t refusals_held(Engine& engine) {
  size_t n = 0;
  for (const auto& [id, body] : engine.list_local()) {
    if (id.rfind("refused-", 0) != 0) continue;
    std::optional<std::vector<Refusal>> list = refusals_from_json(body);
    REQUIRE(list.has_value());
    n += list->size();
  }
  return n;
}

// Totals over the seeds, to show that the run did what it is about.
struct EdgeCounts {
  uint64_t deep = 0, mid_run_columns = 0, restores = 0, blobs = 0, too_large = 0;
};

// One replication between two random peers (sometimes with a column added
// on the source while it runs); `too_large` counts documents refused so.
void edge_replication(Workload& w, EdgePeers& peers, bool column_mid_run, int& columns,
                      uint64_t& too_large) {
  size_t i = w.pick(peers.size());
  size_t j = w.pick(peers.size() - 1);
  if (j >= i) ++j;
  INFO("replicate ", peers.peer(i).name, " -> ", peers.peer(j).name);
  static const size_t kBatches[] = {1, 3, 17, 1000};
  ReplicationOptions options = test_options(kBatches[w.pick(4)]);
  RefusingEngine source(peers.remote(i));
  if (column_mid_run) {
    // The first read of the feed comes after the definitions were read.
    const std::string column = "c" + std::to_string(++columns);
    bool done = false;
    source.on_call = [&, i, column](const std::string& method) {
      if (method != "changes" || done) return;
      done = true;
      w.add_column_and_use(peers.local(i), column);
    };
  }
  ReplicationReport r = replicate(source, peers.remote(j), options);
  require_ok(r);
  for (const ReplicationError& e : r.errors) {
    INFO("error ", e.table, "/", e.id, ": ", e.message);
    // The only refusal this workload provokes: a blob over the limit.
    CHECK(e.code == ErrorCode::too_large);
    CHECK(e.table == "blobs");
    ++too_large;
  }
}

}  // namespace

TEST_CASE(
    "replication: convergence property at the edges: long offline histories, columns "
    "added mid-run, restored backups, bodies near and over a server's limit") {
  EdgeCounts total;
  for (uint64_t seed : seeds()) {
    CAPTURE(seed);
    INFO("reproduce with OUTPOST_TEST_SEED=", seed);
    Workload w(seed);
    EdgePeers peers;
    w.create_tables(peers.local(0), peers.local(2));
    create_table(peers.local(0), Table{"blobs", {col("data", ValueType::bytes)}});
    std::map<std::string, size_t> blob_owner;  // blob id → the peer that edits it
    int deep_left = 2, columns = 0;
    uint64_t too_large = 0;

    for (int op = 0; op < kEdgeOperations; ++op) {
      const double roll = std::uniform_real_distribution<double>(0, 1)(w.rng());
      const size_t at = w.pick(peers.size());
      if (roll < 0.07) {
        edge_replication(w, peers, false, columns, too_large);
      } else if (roll < 0.085) {
        edge_replication(w, peers, true, columns, too_large);
      } else if (roll < 0.10 && deep_left > 0 && peers.local(at).get_table("items")) {
        --deep_left;
        const int edits = 1001 + static_cast<int>(w.pick(kMaxDeepEdits - 1000));
        w.edit_many(peers.local(at), "items", "k" + std::to_string(w.pick(40)), edits,
                    w.chance(0.5));
        ++total.deep;
      } else if (roll < 0.12 && peers.restorable(at)) {
        if (!peers.has_backup(at) || w.chance(0.5)) {
          peers.backup(at);
        } else {
          // Nothing committed may be lost by the restore itself: the peer
          // first hands everything to another (not the served one, whose
          // limit may refuse a blob).
          size_t other = at == 0 ? 2 : 0;
          require_ok(sync(peers.remote(at), peers.remote(other), test_options()).combined());
          peers.restore(at, w.pick(peers.backups(at)));
          ++total.restores;
        }
      } else if (roll < 0.14 && peers.local(at).get_table("blobs")) {
        // Around the served peer's limit: some fit, some do not.
        const std::string id = "b" + std::to_string(at) + "-" + std::to_string(w.pick(4));
        blob_owner[id] = at;
        const double scale = std::uniform_real_distribution<double>(0.6, 0.9)(w.rng());
        w.put_blob(peers.local(at), id, static_cast<size_t>(scale * kServedLimit));
        ++total.blobs;
      } else {
        w.random_edit(peers.local(at));
      }
    }
    // Every pair syncs; then every blob shrinks on the peer that owns it
    // (which now holds all of its leaves), so that all can converge.
    auto mesh = [&](bool check_clean) {
      for (size_t i = 0; i < peers.size(); ++i) {
        for (size_t j = i + 1; j < peers.size(); ++j) {
          INFO("final sync ", peers.peer(i).name, " <-> ", peers.peer(j).name);
          SyncReport r = sync(peers.remote(i), peers.remote(j), test_options());
          require_ok(r.combined());
          if (check_clean) CHECK_MESSAGE(r.combined().ok(), sync_report_to_json(r));
        }
      }
    };
    mesh(false);
    for (const auto& [id, owner] : blob_owner) w.put_blob(peers.local(owner), id, 100);

    // Final rounds: every pair syncs, twice around.
    for (int round = 0; round < 2; ++round) {
      mesh(round == 1);
    }
    require_converged(peers.all());
    for (size_t i = 0; i < peers.size(); ++i) {
      INFO("peer ", peers.peer(i).name);
      w.require_nothing_missing(peers.local(i));
      CHECK(refusals_held(peers.local(i)) == 0);
    }
    total.mid_run_columns += static_cast<uint64_t>(columns);
    total.too_large += too_large;
    MESSAGE("seed ", seed, ": ", columns, " columns added mid-run, ", too_large,
            " blobs refused as too large");
  }
  // The workload really met the edges (over the three seeds of a default
  // run; one seed alone, as when reproducing, may miss one of them).
  if (std::getenv("OUTPOST_TEST_SEED") != nullptr) return;
  CHECK(total.deep > 0);
  CHECK(total.mid_run_columns > 0);
  CHECK(total.restores > 0);
  CHECK(total.blobs > 0);
  CHECK(total.too_large > 0);
}

}  // namespace outpost::test
