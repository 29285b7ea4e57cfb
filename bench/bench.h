// Benchmark scenarios, run by `outpost bench SCENARIO`. A scenario measures
// the engine against a baseline doing the same work by hand and reports
// figures, never a pass or a fail. Scenarios are a table, so new ones
// (replicate, http) are one entry more.
// Thread-safety: a scenario runs on the calling thread; the progress
// callback is called on it.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/open.h"

namespace outpost {

struct BenchOptions {
  std::string db_url;            // selects the backend; the bench writes to fresh databases only
  size_t records = 100000;       // batched writes
  size_t batch = 1000;           // records per transaction in the batched figure
  size_t single_records = 2000;  // one write call per record; 0 skips
  Durability durability = Durability::full;
  std::filesystem::path dir;  // where the temporary directory goes; empty: the system's
  // `scope` through a hub (bench_scope.h): devices syncing at once, and
  // tokens with distinct scopes for the hub's memory.
  size_t devices = 32;
  size_t tokens = 10000;
  // `link`: the link profiles to run ("fast", "3G", "2G", "2G-drop";
  // bench_link.h); empty: all four.
  std::vector<std::string> link_profiles;
  // Called now and then: what runs ("engine, batched"), records done, total.
  std::function<void(std::string_view stage, size_t done, size_t total)> progress;
  // Calls `progress`, when there is one.
  void notify(std::string_view stage, size_t done, size_t total) const {
    if (progress) progress(stage, done, total);
  }
};

// A figure's further values, for people and for --json "values".
struct BenchValue {
  std::string name;  // machine name: "p50_seconds", "rss_one_token_mib"
  double value = 0;
};

// One measured figure: the engine and the baseline doing the same writes.
// A figure that is no rate (`rates` false: memory) is its label and values.
struct BenchFigure {
  std::string name;   // machine name: "put_batched"
  std::string label;  // for people: "put batched (1000/txn)"
  size_t records = 0;
  size_t per_transaction = 0;
  double engine_seconds = 0;
  double baseline_seconds = 0;
  bool rates = true;
  std::vector<BenchValue> values;

  double engine_rate() const { return engine_seconds > 0 ? records / engine_seconds : 0; }
  double baseline_rate() const { return baseline_seconds > 0 ? records / baseline_seconds : 0; }
  // engine rate / baseline rate (1.0 = as fast as the baseline).
  double ratio() const { return baseline_rate() > 0 ? engine_rate() / baseline_rate() : 0; }
};

struct BenchReport {
  std::string scenario;
  std::string backend;     // "sqlite"
  std::string durability;  // "full" or "normal"
  std::string baseline;    // what the engine is compared with: "raw"
  std::string location;    // where the databases were written
  std::vector<BenchFigure> figures;
};

struct BenchScenario {
  std::string_view name;
  std::string_view summary;
  BenchReport (*run)(const BenchOptions& options);
};

// Every scenario, in the order `outpost bench --help` lists them.
std::span<const BenchScenario> bench_scenarios();
// nullptr when there is no scenario of that name.
const BenchScenario* find_bench_scenario(std::string_view name);

}  // namespace outpost
