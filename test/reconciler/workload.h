// A random workload for the replication property tests: local edits of
// every kind (create, update, delete, resolve, edits on conflict branches,
// a column added) on records whose ids collide across peers, so the same
// record is edited on several peers and deleted on one while edited on
// another. Every revision a write commits is remembered, so a test can check
// at the end that none is missing anywhere.
// Thread-safety: single-threaded.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "api/engine.h"

namespace outpost::test {

class Workload {
 public:
  explicit Workload(uint64_t seed) : rng_(seed) {}

  std::mt19937_64& rng() { return rng_; }
  size_t pick(size_t n) { return static_cast<size_t>(rng_() % n); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

  // Creates the workload's tables: "items" on `first`, "notes" on `second`
  // (the others get them by replication).
  void create_tables(Engine& first, Engine& second);
  // One random local edit on `engine` (a table it does not have yet is
  // skipped in favour of one it has; nothing happens if it has none).
  // Returns the kind of edit made ("create", "update", ...) or "" for none.
  std::string random_edit(Engine& engine);

  // `edits` local edits of table/id in one write call, each on the last,
  // the last a delete when `then_delete` (the record is created first when
  // it has no live winner): a record edited many times between two syncs.
  // Every revision is remembered.
  void edit_many(Engine& engine, const std::string& table, const std::string& id, int edits,
                 bool then_delete);
  // Adds `column` (a string) to "items" on `engine` and creates a record
  // that sets it.
  void add_column_and_use(Engine& engine, const std::string& column);
  // Creates or updates blobs/id with a bytes value of `bytes` raw bytes
  // (resolving its conflicts, if it has any).
  void put_blob(Engine& engine, const std::string& id, size_t bytes);

  // What each kind of edit has been done, for the test's log.
  const std::map<std::string, uint64_t>& counts() const { return counts_; }
  // Every revision a write returned, by "table\nid".
  const std::map<std::string, std::set<std::string>>& committed() const { return committed_; }

  // REQUIREs that `engine` has every committed revision (as a node, a body or
  // a stub: revs_diff reports none missing).
  void require_nothing_missing(Engine& engine) const;

 private:
  void remember(const WriteResult& result);

  std::mt19937_64 rng_;
  std::map<std::string, uint64_t> counts_;
  std::map<std::string, std::set<std::string>> committed_;
  uint64_t counter_ = 0;
};

}  // namespace outpost::test
