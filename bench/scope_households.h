// The records of the `scope` scenario (bench_scope.h): households in 100
// districts, record i in district i mod 100, and the writes the scenario
// makes of them. Shared by its in-process part (bench_scope.cpp) and its
// hub part (bench_scope_hub.cpp). Thread-safety: plain functions; the
// engines they write to are used from the calling thread.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "api/engine.h"
#include "api/table.h"
#include "api/value.h"
#include "bench/bench.h"

namespace outpost {

inline constexpr const char* kHouseholds = "households";
inline constexpr size_t kDistricts = 100;
inline constexpr size_t kScopeBatch = 1000;

// households: district (string, required), name (string), members (int).
Table households_table();
// "d07" for record i of district 7.
std::string district_name(size_t district);
std::string district_of_record(size_t i);
// "h00000042".
std::string household_id(size_t i);
// Record i at `version` (0: its first revision).
Attributes household(size_t i, size_t version);
// "households: district = 'd07'".
std::string district_scope_text(size_t district);

// Creates the records i of [0, count) for which `take(i)` holds, in
// batches of kScopeBatch, reporting progress as `stage`.
void fill_households(const BenchOptions& options, Engine& engine, size_t count,
                     const std::function<bool(size_t)>& take, std::string_view stage);
// Updates the records of `indexes` to `version` (each read first for its
// revision), in batches of kScopeBatch.
void update_households(Engine& engine, const std::vector<size_t>& indexes, size_t version);

}  // namespace outpost
