// Opening a database by backend URL (DESIGN.md section 10).
// Thread-safety: open_engine may be called from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "api/engine.h"

namespace outpost {

enum class Durability { full, normal };

struct OpenOptions {
  Durability durability = Durability::full;  // SQLite synchronous=FULL or NORMAL
  int busy_timeout_ms = 10000;               // SQLite busy timeout
  // Ancestors a read shows (GetOptions::ancestry). Replication (bulk_get)
  // always sends the whole path down to what the receiver knows (DESIGN §4).
  size_t revs_limit = 1000;
};

// Opens (creating or upgrading) the database named by `url`:
//   "sqlite:PATH" or a plain path; "postgres://..." or "postgres:k=v ..." or
//   "postgres:" (PG* variables). An empty url means $OUTPOST_DB, then
//   "sqlite:outpost.db". Throws Error(unavailable) with one clear line when
//   the database cannot be opened or was written by a newer schema version.
std::unique_ptr<Engine> open_engine(const std::string& url, const OpenOptions& options = {});

// True for the PostgreSQL URL forms open_engine() accepts.
bool is_postgres_url(std::string_view url);

// The URL open_engine("") would use.
std::string default_database_url();

}  // namespace outpost
