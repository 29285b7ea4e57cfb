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
#include <cstdint>
#include <functional>
#include <string>

namespace outpost {

// The record shape of the write benchmarks: an id and six columns of mixed
// types (as in /work/shared/peers: 2 strings, 2 ints, a float, a bool).
struct BaselineRow {
  std::string id;
  std::string name;
  std::string city;
  int64_t qty = 0;
  int64_t seq = 0;
  double price = 0;
  bool active = false;
};

struct BaselineOptions {
  std::string path;  // a file that does not exist yet (it is created)
  std::string table = "items";
  size_t records = 0;
  size_t per_transaction = 1000;
  bool synchronous_full = true;  // PRAGMA synchronous=FULL, else NORMAL
  // Makes row i (called once per record, inside the timed part).
  std::function<BaselineRow(size_t i)> make_row;
};

struct BaselineResult {
  size_t records = 0;
  double seconds = 0;  // the inserts and commits only, not schema creation
};

// Runs the baseline. Throws Error(unavailable) when the file cannot be
// created or written, Error(internal) for any other SQLite failure.
BaselineResult run_sqlite_raw_baseline(const BaselineOptions& options);

}  // namespace outpost
