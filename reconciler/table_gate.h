// The table gate of a replication run (replicator.h): which of the
// source's tables the run may write on the target.
//
// ensure() makes the target's definitions a superset of the source's for
// the filtered tables (all of the source's without a filter); ready() opens
// a table first seen in the feed (created on the source since the run
// began) the same way. A table the target refuses (schema_conflict,
// forbidden, invalid_name, ...) or that the source lists without a
// definition is reported once (`report`, id empty), stays closed for the
// rest of the run, and is remembered as skipped from the cursor the run was
// reading at: the checkpoint keeps skipped(), so that a later run whose
// target accepts the table copies it from there (to_catch_up, caught_up).
// unavailable and unauthorized are not the table's fault: they are thrown.
//
// Thread-safety: one thread at a time (the reading half of a run).
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/engine.h"
#include "api/table.h"
#include "reconciler/replicator.h"

namespace outpost {

class TableGate {
 public:
  // Runs one engine call (`fn`) with the run's retries.
  using Retry = std::function<void(std::string_view what, const std::function<void()>& fn)>;
  // Reports a table that is not replicated (ReplicationError::id empty).
  using Report = std::function<void(ReplicationError)>;

  // `filter`: sorted table names, empty for every table.
  TableGate(Engine& source, Engine& target, std::vector<std::string> filter, Retry retry,
            Report report);

  // The skipped tables of the checkpoint the run resumes from.
  void resume(std::map<std::string, std::string> skipped) { skipped_ = std::move(skipped); }
  // The cursor the run reads changes from now: a table refused from here
  // on is skipped from it.
  void set_cursor(std::string cursor) { cursor_ = std::move(cursor); }

  // Makes the target's definitions a superset of the source's, given both
  // sides' tables.
  void ensure(const std::vector<Table>& source_tables, std::vector<Table> target_tables);
  // Whether changes of `table` may be written; a table not seen yet is read
  // from both sides and ensured first.
  bool ready(const std::string& table);
  // Whether `table` is open, without asking the engines.
  bool is_ready(const std::string& table) const { return ready_.count(table) != 0; }

  // Table → cursor skipping began at (or the catch-up reached), for the checkpoint.
  const std::map<std::string, std::string>& skipped() const { return skipped_; }
  // The skipped tables the target accepts now, with the cursor to copy from.
  std::vector<std::pair<std::string, std::string>> to_catch_up() const;
  // `table` is copied up to `cursor` / entirely.
  void caught_up_to(const std::string& table, std::string cursor) {
    skipped_[table] = std::move(cursor);
  }
  void caught_up(const std::string& table) { skipped_.erase(table); }

 private:
  // `existing`: the target's definition, or null when it has none.
  void ensure_table(const Table& table, const Table* existing);
  void refuse(const std::string& table, ErrorCode code, std::string message);

  Engine& source_;
  Engine& target_;
  const std::vector<std::string> filter_;
  const Retry retry_;
  const Report report_;
  std::set<std::string> ready_;
  std::set<std::string> failed_;
  std::map<std::string, std::string> skipped_;  // table → cursor skipping began at
  std::string cursor_;
};

}  // namespace outpost
