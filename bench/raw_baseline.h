// The values both raw-write baselines (bench/sqlite_raw_baseline.h,
// bench/pg_raw_baseline.h) share: the record shape they write and what a
// run measured. Bench code: it never enters the engine library.
// Thread-safety: plain value types.
#pragma once

#include <cstddef>
#include <cstdint>
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

struct BaselineResult {
  size_t records = 0;
  double seconds = 0;  // the inserts and commits only, not schema creation
};

}  // namespace outpost
