#include "e2e/e2e_common.h"

#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <iostream>
#include <mutex>

#include "api/json.h"

namespace outpost::test {

HubDatabase make_hub_database(const std::filesystem::path& dir) {
  HubDatabase hub;
  if (postgres_configured()) {
    for (const TestBackend& backend : test_backends()) {
      if (backend.name != "postgres") continue;
      hub.postgres = backend.create();
      hub.url = hub.postgres->url();
      hub.backend = "postgres";
      return hub;
    }
  }
  static std::once_flag noted;
  std::call_once(noted, [] {
    std::cerr << "e2e: hub on SQLite (set OUTPOST_TEST_PG for a PostgreSQL hub)\n";
  });
  REQUIRE_FALSE(running_in_ci());  // CI must run the PostgreSQL hub
  hub.url = "sqlite:" + (dir / "hub.db").string();
  hub.backend = "sqlite";
  return hub;
}

std::string replicated_state(Engine& engine) {
  std::string out;
  std::vector<Table> tables = engine.list_tables();
  std::sort(tables.begin(), tables.end(),
            [](const Table& a, const Table& b) { return a.name < b.name; });
  for (const Table& t : tables) out += table_to_json(t) + "\n";
  std::vector<Change> changes = all_changes(engine);
  std::sort(changes.begin(), changes.end(), [](const Change& a, const Change& b) {
    return std::tie(a.table, a.id) < std::tie(b.table, b.id);
  });
  for (const Change& c : changes) {
    GetOptions options;
    options.conflicts = true;
    std::optional<Record> record = engine.get(c.table, c.id, options);
    REQUIRE(record);
    out += c.table + "/" + c.id + " " + record->revision.str() +
           (record->deleted ? " deleted" : "") + " " + attrs_text(record->attributes);
    out += " conflicts:";
    for (const std::string& r : sorted_strs(record->conflicts.value_or(std::vector<Revision>{}))) {
      out += " " + r;
    }
    out += " leaves:";
    for (const std::string& r : leaves_of(engine, c.table, c.id)) out += " " + r;
    out += "\n";
  }
  return out;
}

std::string json_field(const std::string& json, const std::string& key) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember(key.c_str())) return {};
  const rapidjson::Value& v = doc[key.c_str()];
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
  if (v.IsUint64()) return std::to_string(v.GetUint64());
  return {};
}

}  // namespace outpost::test
