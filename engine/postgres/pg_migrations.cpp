// Migrations and the checks made when a PostgreSQL database is opened.
#include <charconv>

#include "engine/postgres/pg_connection.h"
#include "engine/postgres/pg_schema.h"
#include "engine/postgres/pg_storage.h"
#include "utils/uuid.h"

namespace outpost {

namespace {

// Advisory lock keys: class kPgLockClass (pg_schema.h), then the purpose.
constexpr int kLockClass = kPgLockClass;
constexpr int kMigrationLock = 1;
constexpr int kCatalogLock = 2;

// The schema migrations, in order; migration i brings the schema to version
// i+1. The columns mirror SQLite's (engine/sqlite) with native types;
// _changes additionally holds the writer's transaction id (docs/postgres-feed.md).
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE "_meta"("key" TEXT COLLATE "C" PRIMARY KEY, "value" TEXT NOT NULL);
CREATE TABLE "_tables"("name" TEXT COLLATE "C" PRIMARY KEY);
CREATE TABLE "_columns"("table" TEXT COLLATE "C" NOT NULL, "position" INTEGER NOT NULL,
  "name" TEXT COLLATE "C" NOT NULL, "type" TEXT NOT NULL, "required" BOOLEAN NOT NULL,
  PRIMARY KEY("table", "position"));
CREATE SEQUENCE "_changes_seq";
CREATE TABLE "_changes"("seq" BIGINT NOT NULL, "table" TEXT COLLATE "C" NOT NULL,
  "id" TEXT COLLATE "C" NOT NULL, "rev" TEXT COLLATE "C" NOT NULL, "deleted" BOOLEAN NOT NULL,
  "leaves" TEXT NOT NULL, "xid" xid8 NOT NULL, PRIMARY KEY("table", "id"));
ALTER SEQUENCE "_changes_seq" OWNED BY "_changes"."seq";
CREATE INDEX "_changes_position" ON "_changes"("xid", "seq");
CREATE TABLE "_local"("id" TEXT COLLATE "C" PRIMARY KEY, "body" TEXT NOT NULL);
CREATE TABLE "_tokens"("name" TEXT COLLATE "C" PRIMARY KEY, "hash" TEXT NOT NULL UNIQUE,
  "admin" BOOLEAN NOT NULL, "read" TEXT NOT NULL, "write" TEXT NOT NULL,
  "created_at" TEXT NOT NULL, "expires_at" TEXT, "revoked" BOOLEAN NOT NULL DEFAULT false);
INSERT INTO "_meta"("key", "value") VALUES('catalog_version', '0');
)sql",
    // Scopes (DESIGN.md section 14): the purge log. The migration also gives
    // every table its tombstone table (see kTombstonesVersion).
    R"sql(
CREATE TABLE "_purges"("seq" BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  "table" TEXT COLLATE "C" NOT NULL, "id" TEXT COLLATE "C" NOT NULL, "at" TEXT NOT NULL,
  "reason" TEXT NOT NULL);
)sql",
    // Tokens with scopes (DESIGN.md section 14; pg_tokens.cpp): existing
    // tokens keep their table lists alone.
    R"sql(
ALTER TABLE "_tokens" ADD COLUMN "scope" TEXT NOT NULL DEFAULT '',
  ADD COLUMN "write_scope" TEXT NOT NULL DEFAULT '',
  ADD COLUMN "earlier_write_scopes" TEXT NOT NULL DEFAULT '',
  ADD COLUMN "rescoped_at" TEXT;
)sql",
    // Maintained counts (pg_counts.cpp): the migration also gives every table
    // its triggers and counts it once (see kCountsVersion).
    kPgCountFunctionsSql,
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));
// The version from which tables have tombstone tables.
constexpr int kTombstonesVersion = 2;
// The version from which tables have maintained counts.
constexpr int kCountsVersion = 4;

std::string sql_type(ValueType type) {
  switch (type) {
    case ValueType::string:
      return "TEXT";
    case ValueType::int_:
      return "BIGINT";
    case ValueType::float_:
      return "DOUBLE PRECISION";
    case ValueType::bool_:
      return "BOOLEAN";
    case ValueType::bytes:
      return "BYTEA";
    case ValueType::timestamp:
      return "TIMESTAMPTZ";
  }
  return "TEXT";
}

uint64_t parse_u64(std::string_view text) {
  uint64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

}  // namespace

int pg_schema_version() { return kSchemaVersion; }

void pg_lock_catalog(PgConnection& conn) {
  conn.query("SELECT pg_advisory_xact_lock(" + std::to_string(kLockClass) + "," +
             std::to_string(kCatalogLock) + ")");
}

std::string pg_create_table_sql(const Table& table) {
  // Derived names begin with "_", which no user table name does, and end in
  // suffixes no engine table uses; the longest is 1+48+11 = 60 bytes.
  std::string t = pg_quote_identifier(table.name);
  std::string h = pg_quote_identifier(history_table_name(table.name));
  std::string cols;
  for (const Column& c : table.columns) {
    cols += ", " + pg_quote_identifier(c.name) + " " + sql_type(c.type);
  }
  return "CREATE TABLE " + t +
         "(\"_id\" TEXT COLLATE \"C\" NOT NULL, \"_rev\" TEXT COLLATE \"C\" NOT NULL, "
         "\"_seq\" BIGINT NOT NULL, \"_conflicted\" BOOLEAN NOT NULL DEFAULT false" +
         cols + ", CONSTRAINT " + pg_quote_identifier("_" + table.name + "_pk") +
         " PRIMARY KEY(\"_id\")) WITH (fillfactor=90);\n"
         "CREATE INDEX " +
         pg_quote_identifier("_" + table.name + "_conflicted") + " ON " + t +
         "(\"_id\") WHERE \"_conflicted\";\n"
         "CREATE TABLE " +
         h +
         "(\"_id\" TEXT COLLATE \"C\" NOT NULL, \"_rev\" TEXT COLLATE \"C\" NOT NULL, "
         "\"_parent\" TEXT COLLATE \"C\", \"_gen\" BIGINT NOT NULL, \"_deleted\" BOOLEAN NOT NULL, "
         "\"_leaf\" BOOLEAN NOT NULL, \"_stub\" BOOLEAN NOT NULL, \"_seq\" BIGINT NOT NULL" +
         cols + ", CONSTRAINT " +
         pg_quote_identifier("_" + history_table_name(table.name) + "_pk") +
         " PRIMARY KEY(\"_id\", \"_rev\")) WITH (fillfactor=90);\n" +
         pg_create_tombstones_sql(table) + "\n" + pg_create_counts_sql(table);
}

std::string pg_create_tombstones_sql(const Table& table) {
  std::string cols;
  for (const Column& c : table.columns) {
    cols += ", " + pg_quote_identifier(c.name) + " " + sql_type(c.type);
  }
  // The primary key's name is left to PostgreSQL, which picks a free one
  // within 63 bytes.
  return "CREATE TABLE " + pg_quote_identifier(tombstone_table_name(table.name)) +
         "(\"_id\" TEXT COLLATE \"C\" NOT NULL PRIMARY KEY, \"_rev\" TEXT COLLATE \"C\" NOT NULL, "
         "\"_seq\" BIGINT NOT NULL, \"_known\" BOOLEAN NOT NULL" +
         cols + ");";
}

std::string pg_add_columns_sql(const std::string& table, const std::vector<Column>& added) {
  // History first, then T, then the tombstones: the order in which writers
  // touch them, so that a writer and this DDL do not wait for each other in
  // a cycle.
  std::string out;
  for (const std::string& name : {history_table_name(table), table, tombstone_table_name(table)}) {
    for (const Column& c : added) {
      out += "ALTER TABLE " + pg_quote_identifier(name) + " ADD COLUMN " +
             pg_quote_identifier(c.name) + " " + sql_type(c.type) + ";\n";
    }
  }
  return out;
}

void PgStorage::migrate(PgConnection& conn) {
  conn.exec("BEGIN");
  try {
    // Two processes opening a fresh database at once: the second waits here
    // and then finds the schema in place.
    conn.query("SELECT pg_advisory_xact_lock(" + std::to_string(kLockClass) + "," +
               std::to_string(kMigrationLock) + ")");
    int version = 0;
    if (!conn.query("SELECT to_regclass('\"_meta\"')").is_null(0, 0)) {
      PgResult res = conn.query("SELECT \"value\" FROM \"_meta\" WHERE \"key\"='schema_version'");
      if (res.rows() > 0) version = static_cast<int>(res.int64(0, 0));
    }
    if (version > kSchemaVersion) {
      throw Error(ErrorCode::unavailable,
                  "this PostgreSQL database was written by a newer outpost (schema version " +
                      std::to_string(version) + "; this build knows up to " +
                      std::to_string(kSchemaVersion) + "). Upgrade outpost to open it.");
    }
    for (int v = version; v < kSchemaVersion; ++v) conn.exec(kMigrations[v]);
    if (version > 0 && version < kTombstonesVersion) {
      for (const Table& table : read_tables(conn)) {
        conn.exec(pg_create_tombstones_sql(table));
        fill_tombstones(conn, table);
      }
    }
    if (version > 0 && version < kCountsVersion) {
      for (const Table& table : read_tables(conn)) seed_counts(conn, table);
    }
    if (version == 0) {
      conn.query("INSERT INTO \"_meta\"(\"key\",\"value\") VALUES('db_id',$1)",
                 PgParams().add(uuid_v4()));
    }
    if (version != kSchemaVersion) {
      conn.query(
          "INSERT INTO \"_meta\"(\"key\",\"value\") VALUES('schema_version',$1) "
          "ON CONFLICT(\"key\") DO UPDATE SET \"value\"=excluded.\"value\"",
          PgParams().add(std::to_string(kSchemaVersion)));
    }
    PgResult id = conn.query("SELECT \"value\" FROM \"_meta\" WHERE \"key\"='db_id'");
    if (id.rows() == 0) throw Error(ErrorCode::unavailable, "the database has no db_id");
    db_id_ = std::string(id.text(0, 0));
    conn.exec("COMMIT");
  } catch (const Error& e) {
    try {
      conn.exec("ROLLBACK");
    } catch (const Error&) {
      // The connection is closed right after; the server rolls back.
    }
    if (e.code() == ErrorCode::unavailable) throw;
    throw Error(ErrorCode::unavailable,
                std::string("cannot prepare the PostgreSQL database: ") + e.what());
  }
}

void PgStorage::check_feed_horizon(PgConnection& conn) {
  // The feed shows rows whose writer's xid is below the oldest running one.
  // Rows stamped with xids this cluster has not reached yet (a database
  // restored into a younger cluster) would stay hidden for a long time, and
  // rows written now would sort before them: refuse to open.
  PgResult res = conn.query(
      "SELECT (SELECT max(\"xid\")::text FROM \"_changes\"), "
      "pg_snapshot_xmax(pg_current_snapshot())::text");
  if (res.is_null(0, 0)) return;
  uint64_t newest = parse_u64(res.text(0, 0));
  uint64_t next = parse_u64(res.text(0, 1));
  if (newest >= next) {
    throw Error(ErrorCode::unavailable,
                "this PostgreSQL database's change feed was written by transaction " +
                    std::to_string(newest) + " but this cluster has only reached transaction " +
                    std::to_string(next) +
                    " (was the database restored into another cluster?); its feed would hide "
                    "changes, so it is not opened. See docs/postgres-feed.md.");
  }
}

}  // namespace outpost
