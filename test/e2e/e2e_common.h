// Shared pieces of the end-to-end tests: the hub database (a fresh
// PostgreSQL database when OUTPOST_TEST_PG is set, a SQLite file otherwise,
// with a visible note), a snapshot of everything replication must make
// identical, and small parsing helpers.
// Thread-safety: one test thread.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "api/engine.h"
#include "engine/backends.h"

namespace outpost::test {

struct HubDatabase {
  std::string url;
  std::string backend;                     // "postgres" or "sqlite"
  std::unique_ptr<TestDatabase> postgres;  // owns (and finally drops) the PostgreSQL database
};
HubDatabase make_hub_database(const std::filesystem::path& dir);

// Tables, and for every record the feed lists (deleted ones too): winner,
// deletion, attributes, sorted conflicts and sorted leaves. Equal snapshots:
// the databases hold the same records, winners, conflicts and leaves.
std::string replicated_state(Engine& engine);

// The value of "key" in a flat JSON object printed by the CLI ("" if absent).
std::string json_field(const std::string& json, const std::string& key);

}  // namespace outpost::test
