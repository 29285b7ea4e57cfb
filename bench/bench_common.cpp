#include "bench/bench_common.h"

#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "api/error.h"
#include "engine/postgres/pg_connection.h"
#include "engine/postgres/pg_raw_baseline.h"

namespace outpost {

ScratchDir::ScratchDir(const std::filesystem::path& parent) {
  std::error_code ec;
  std::filesystem::path base = parent.empty() ? std::filesystem::temp_directory_path(ec) : parent;
  if (ec) base = "/tmp";
  std::string pattern = (base / "outpost-bench-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw Error(ErrorCode::unavailable, "cannot create a temporary directory in " + base.string() +
                                            ": " + std::strerror(errno));
  }
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

ScratchSchema::ScratchSchema(const std::string& url, const std::string& name)
    : base_(pg_conninfo_from_url(url)),
      schema_("outpost_bench_" + std::to_string(::getpid()) + "_" + name),
      conninfo_(pg_scratch_conninfo(base_, schema_)) {}

ScratchSchema::~ScratchSchema() {
  try {
    pg_drop_scratch(base_, schema_);
  } catch (const Error&) {
    // Best effort: a left-over schema is named outpost_bench_* and harmless.
  }
}

Table bench_table() {
  return Table{kBenchTable,
               {{"name", ValueType::string, true},
                {"city", ValueType::string, false},
                {"qty", ValueType::int_, false},
                {"seq", ValueType::int_, false},
                {"price", ValueType::float_, false},
                {"active", ValueType::bool_, false}}};
}

std::string bench_record_id(size_t i) {
  char id[32];
  std::snprintf(id, sizeof id, "rec%08zu", i);
  return id;
}

Attributes bench_record(size_t i, size_t version) {
  static const char* const kCities[] = {"Oslo",  "Lagos", "Lima",  "Hanoi",
                                        "Quito", "Perth", "Porto", "Dhaka"};
  Attributes a;
  a.emplace("name",
            Value::from_string("item-" + std::to_string(i) + "-v" + std::to_string(version)));
  a.emplace("city", Value::from_string(kCities[(i + version) % 8]));
  a.emplace("qty", Value::from_int(static_cast<int64_t>((i * 7919 + version) % 1000)));
  a.emplace("seq", Value::from_int(static_cast<int64_t>(i)));
  a.emplace("price", Value::from_float(static_cast<double>((i * 31 + version) % 10000) / 100.0));
  a.emplace("active", Value::from_bool((i + version) % 3 != 0));
  return a;
}

}  // namespace outpost
