// The schema migrations of an SQLite database file, applied when it is
// opened (DESIGN.md section 5).
#include <iterator>
#include <string>

#include "engine/sqlite/sqlite_db.h"
#include "engine/sqlite/sqlite_storage.h"
#include "utils/uuid.h"

namespace outpost {

namespace {

// The schema migrations, in order; migration i brings the schema to version i+1.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE "_meta"("key" TEXT PRIMARY KEY NOT NULL, "value" TEXT NOT NULL) STRICT;
CREATE TABLE "_tables"("name" TEXT PRIMARY KEY NOT NULL) STRICT;
CREATE TABLE "_columns"("table" TEXT NOT NULL, "position" INTEGER NOT NULL,
  "name" TEXT NOT NULL, "type" TEXT NOT NULL, "required" INTEGER NOT NULL,
  PRIMARY KEY("table", "position")) STRICT;
CREATE TABLE "_changes"("seq" INTEGER PRIMARY KEY AUTOINCREMENT, "table" TEXT NOT NULL,
  "id" TEXT NOT NULL, "rev" TEXT NOT NULL, "deleted" INTEGER NOT NULL,
  "leaves" TEXT NOT NULL) STRICT;
CREATE TABLE "_local"("id" TEXT PRIMARY KEY NOT NULL, "body" TEXT NOT NULL) STRICT;
CREATE TABLE "_tokens"("name" TEXT PRIMARY KEY NOT NULL, "hash" TEXT NOT NULL UNIQUE,
  "admin" INTEGER NOT NULL, "read" TEXT NOT NULL, "write" TEXT NOT NULL,
  "created_at" TEXT NOT NULL, "expires_at" TEXT, "revoked" INTEGER NOT NULL DEFAULT 0) STRICT;
)sql",
    // The seqs of _changes rows that a newer row of the same record replaced
    // (see append_change).
    R"sql(
CREATE TABLE "_superseded"("seq" INTEGER PRIMARY KEY) STRICT;
)sql",
    // Scopes (DESIGN.md section 14): the purge log. The migration also gives
    // every table its tombstone table (see kTombstonesVersion).
    R"sql(
CREATE TABLE "_purges"("seq" INTEGER PRIMARY KEY AUTOINCREMENT, "table" TEXT NOT NULL,
  "id" TEXT NOT NULL, "at" TEXT NOT NULL, "reason" TEXT NOT NULL) STRICT;
)sql",
    // Tokens with scopes (DESIGN.md section 14; sqlite_tokens.cpp): existing
    // tokens keep their table lists alone.
    R"sql(
ALTER TABLE "_tokens" ADD COLUMN "scope" TEXT NOT NULL DEFAULT '';
ALTER TABLE "_tokens" ADD COLUMN "write_scope" TEXT NOT NULL DEFAULT '';
ALTER TABLE "_tokens" ADD COLUMN "earlier_write_scopes" TEXT NOT NULL DEFAULT '';
ALTER TABLE "_tokens" ADD COLUMN "rescoped_at" TEXT;
)sql",
    // Maintained counts (sqlite_counts.cpp): the migration also gives every
    // table its triggers and counts it once (see kCountsVersion). IF NOT
    // EXISTS: a database whose version was set back migrates again.
    R"sql(
CREATE TABLE IF NOT EXISTS "_counts"("table" TEXT PRIMARY KEY NOT NULL,
  "records" INTEGER NOT NULL, "conflicts" INTEGER NOT NULL) STRICT;
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));
// The version from which tables have tombstone tables.
constexpr int kTombstonesVersion = 3;
// The version from which tables have maintained counts.
constexpr int kCountsVersion = 5;

}  // namespace

void SqliteStorage::migrate(SqliteConnection& conn) {
  conn.exec("BEGIN IMMEDIATE");
  try {
    int version = 0;
    {
      auto has_meta = conn.prepare(
          "SELECT 1 FROM \"sqlite_master\" WHERE \"type\"='table' AND \"name\"='_meta'");
      if (has_meta->step()) {
        auto v = conn.prepare("SELECT \"value\" FROM \"_meta\" WHERE \"key\"='schema_version'");
        if (v->step()) version = std::stoi(std::string(v->column_text(0)));
      } else {
        auto any = conn.prepare("SELECT 1 FROM \"sqlite_master\" LIMIT 1");
        if (any->step()) {
          throw Error(ErrorCode::unavailable,
                      path_ +
                          " is an SQLite database that outpost did not create; refusing to "
                          "change it");
        }
      }
    }
    if (version > kSchemaVersion) {
      throw Error(ErrorCode::unavailable,
                  path_ + " was written by a newer outpost (schema version " +
                      std::to_string(version) + "; this build knows up to " +
                      std::to_string(kSchemaVersion) + "). Upgrade outpost to open it.");
    }
    for (int v = version; v < kSchemaVersion; ++v) conn.exec(kMigrations[v]);
    if (version > 0 && version < kTombstonesVersion) {
      for (const Table& table : read_tables(conn)) {
        create_tombstones(conn, table);
        fill_tombstones(conn, table);
      }
    }
    if (version > 0 && version < kCountsVersion) {
      for (const Table& table : read_tables(conn)) create_counts(conn, table);
    }
    if (version == 0) {
      auto ins = conn.prepare("INSERT INTO \"_meta\"(\"key\",\"value\") VALUES('db_id',?)");
      ins->bind_text(1, uuid_v4());
      ins->run();
    }
    if (version != kSchemaVersion) {
      auto up = conn.prepare(
          "INSERT INTO \"_meta\"(\"key\",\"value\") VALUES('schema_version',?) "
          "ON CONFLICT(\"key\") DO UPDATE SET \"value\"=excluded.\"value\"");
      up->bind_text(1, std::to_string(kSchemaVersion));
      up->run();
    }
    conn.exec("COMMIT");
  } catch (...) {
    try {
      conn.exec("ROLLBACK");
    } catch (const Error&) {
      // SQLite already rolled back (a full disk does): report the first error.
    }
    throw;
  }
  conn.clear_cache();
}

}  // namespace outpost
