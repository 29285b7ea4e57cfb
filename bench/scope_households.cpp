#include "bench/scope_households.h"

#include <cstdio>
#include <optional>

#include "api/error.h"

namespace outpost {

Table households_table() {
  return Table{kHouseholds,
               {{"district", ValueType::string, true},
                {"name", ValueType::string, false},
                {"members", ValueType::int_, false}}};
}

std::string district_name(size_t district) {
  char name[16];
  std::snprintf(name, sizeof name, "d%02zu", district);
  return name;
}

std::string district_of_record(size_t i) { return district_name(i % kDistricts); }

std::string household_id(size_t i) {
  char id[32];
  std::snprintf(id, sizeof id, "h%08zu", i);
  return id;
}

Attributes household(size_t i, size_t version) {
  Attributes a;
  a.emplace("district", Value::from_string(district_of_record(i)));
  a.emplace("name",
            Value::from_string("household-" + std::to_string(i) + "-v" + std::to_string(version)));
  a.emplace("members", Value::from_int(static_cast<int64_t>((i + version) % 9 + 1)));
  return a;
}

std::string district_scope_text(size_t district) {
  return std::string(kHouseholds) + ": district = '" + district_name(district) + "'";
}

void fill_households(const BenchOptions& options, Engine& engine, size_t count,
                     const std::function<bool(size_t)>& take, std::string_view stage) {
  std::vector<Edit> edits;
  for (size_t i = 0; i < count; ++i) {
    if (take(i)) {
      Edit e;
      e.table = kHouseholds;
      e.id = household_id(i);
      e.attributes = household(i, 0);
      edits.push_back(std::move(e));
    }
    if (edits.size() == kScopeBatch || (i + 1 == count && !edits.empty())) {
      for (const WriteResult& r : engine.write(edits)) {
        if (r.error) throw *r.error;
      }
      edits.clear();
      if (options.progress) options.progress(stage, i + 1, count);
    }
  }
}

void update_households(Engine& engine, const std::vector<size_t>& indexes, size_t version) {
  std::vector<Edit> edits;
  for (size_t k = 0; k < indexes.size(); ++k) {
    const size_t i = indexes[k];
    std::optional<Record> now = engine.get(kHouseholds, household_id(i));
    if (!now) throw Error(ErrorCode::internal, "bench: record " + household_id(i) + " is missing");
    Edit e;
    e.table = kHouseholds;
    e.id = household_id(i);
    e.parent = now->revision;
    e.attributes = household(i, version);
    edits.push_back(std::move(e));
    if (edits.size() == kScopeBatch || k + 1 == indexes.size()) {
      for (const WriteResult& r : engine.write(edits)) {
        if (r.error) throw *r.error;
      }
      edits.clear();
    }
  }
}

}  // namespace outpost
