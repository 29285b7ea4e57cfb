// The raw-SQLite baseline of `outpost bench put`: the least work a record
// write can cost on SQLite, done by hand with the C API, to compare the
// engine against. Per record it computes a SHA-256 revision over the
// canonical bytes of DESIGN.md section 4 and inserts the same three rows the
// engine writes (DESIGN.md section 5): a change row, the current row with
// native columns, and a history row with the same columns plus the node
// flags. WAL journal, prepared statements, BEGIN IMMEDIATE ... COMMIT every
// `per_transaction` records. It checks nothing and reads nothing: that is
// the point of a baseline.
// Thread-safety: run_sqlite_raw_baseline may be called from any thread; each
// call uses its own connection and file.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "bench/raw_baseline.h"

namespace outpost {

struct BaselineOptions {
  std::string path;  // a file that does not exist yet (it is created)
  std::string table = "items";
  size_t records = 0;
  size_t per_transaction = 1000;
  bool synchronous_full = true;  // PRAGMA synchronous=FULL, else NORMAL
  // Makes row i (called once per record, inside the timed part).
  std::function<BaselineRow(size_t i)> make_row;
};

// Runs the baseline. Throws Error(unavailable) when the file cannot be
// created or written, Error(internal) for any other SQLite failure.
BaselineResult run_sqlite_raw_baseline(const BaselineOptions& options);

}  // namespace outpost
