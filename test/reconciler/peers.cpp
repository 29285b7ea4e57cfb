#include "reconciler/peers.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <sstream>

#include "engine/open.h"

namespace outpost::test {

std::vector<Peer> make_peers(size_t n, bool mixed) {
  const auto& backends = test_backends();
  const bool with_pg = mixed && backends.size() > 1;
  static bool noted = false;
  if (mixed && !with_pg && !noted) {
    noted = true;
    std::cerr << "*** replication tests: all peers on SQLite (PostgreSQL not configured:"
                 " set OUTPOST_TEST_PG to mix backends) ***\n";
  }
  std::vector<Peer> peers;
  for (size_t i = 0; i < n; ++i) {
    const TestBackend& backend = with_pg && i % 2 == 1 ? backends[1] : backends[0];
    Peer peer;
    peer.name = "p" + std::to_string(i) + " (" + backend.name + ")";
    peer.db = backend.create();
    OpenOptions options;
    options.durability = Durability::normal;
    peer.engine = open_engine(peer.db->url(), options);
    peers.push_back(std::move(peer));
  }
  return peers;
}

ReplicationOptions test_options(size_t batch) {
  ReplicationOptions options;
  options.batch_size = batch;
  options.retry_base = std::chrono::milliseconds(1);
  options.retry_cap = std::chrono::milliseconds(5);
  options.max_attempts = 4;
  return options;
}

std::string snapshot(Engine& engine) {
  std::ostringstream out;
  std::vector<Table> tables = engine.list_tables();
  std::sort(tables.begin(), tables.end(),
            [](const Table& a, const Table& b) { return a.name < b.name; });
  for (const Table& t : tables) {
    std::vector<std::string> cols;
    for (const Column& c : t.columns) {
      cols.push_back(c.name + ":" + std::string(value_type_name(c.type)) + (c.required ? "!" : ""));
    }
    std::sort(cols.begin(), cols.end());
    out << "table " << t.name;
    for (const auto& c : cols) out << " " << c;
    out << "\n";
  }
  std::map<std::string, Change> records;  // "table/id"
  for (Change& c : all_changes(engine)) {
    std::string key = c.table + "/" + c.id;
    records.insert_or_assign(key, std::move(c));
  }
  std::map<std::string, std::string> live;  // from the feed
  for (const auto& [key, c] : records) {
    out << "record " << key << " winner " << c.revision.str() << (c.deleted ? " deleted" : "");
    out << " leaves";
    for (const auto& l : sorted_strs(c.leaves)) out << " " << l;
    auto diff = engine.revs_diff({RevsDiffQuery{c.table, c.id, {}}});
    out << " | revs_diff leaves";
    if (diff.size() == 1) {
      for (const auto& l : sorted_strs(diff[0].leaves)) out << " " << l;
    }
    if (!c.deleted) {
      GetOptions o;
      o.conflicts = true;
      auto r = engine.get(c.table, c.id, o);
      if (!r) {
        out << " MISSING";
      } else {
        out << " | get " << r->revision.str() << (r->deleted ? " deleted " : " ")
            << attrs_text(r->attributes) << " conflicts";
        if (r->conflicts) {
          for (const auto& x : sorted_strs(*r->conflicts)) out << " " << x;
        }
      }
      live.emplace(key, c.revision.str());
    }
    out << "\n";
  }
  std::map<std::string, std::string> listed;
  for (const Table& t : tables) {
    for (const Record& r : all_records(engine, t.name)) {
      listed.emplace(t.name + "/" + r.id, r.revision.str());
    }
  }
  if (listed != live) out << "list_records disagrees with the feed\n";
  for (const std::string& problem : engine.check()) out << "check: " << problem << "\n";
  return out.str();
}

std::string first_difference(const std::string& a, const std::string& b) {
  std::istringstream sa(a), sb(b);
  std::string la, lb;
  for (int line = 1;; ++line) {
    bool ea = !std::getline(sa, la);
    bool eb = !std::getline(sb, lb);
    if (ea && eb) return "(no difference)";
    if (ea || eb || la != lb) {
      return "line " + std::to_string(line) + ":\n  peer 0: " + (ea ? "(end)" : la) +
             "\n  other:  " + (eb ? "(end)" : lb);
    }
  }
}

void require_converged(std::vector<Peer>& peers) {
  REQUIRE(!peers.empty());
  const std::string reference = snapshot(*peers[0]);
  REQUIRE(reference.find("check:") == std::string::npos);
  for (size_t i = 1; i < peers.size(); ++i) {
    const std::string other = snapshot(*peers[i]);
    INFO("peer ", peers[i].name, " differs from ", peers[0].name, " at ",
         first_difference(reference, other));
    REQUIRE(other == reference);
  }
}

void require_ok(const ReplicationReport& report) {
  INFO("fatal: ", report.fatal ? report.fatal->message() : std::string("none"));
  REQUIRE(!report.fatal);
  REQUIRE(!report.cancelled);
}

}  // namespace outpost::test
