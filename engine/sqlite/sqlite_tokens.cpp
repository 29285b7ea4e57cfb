// API tokens in the _tokens table of an SQLite database (DESIGN.md
// sections 9 and 14): the same columns and encodings as on PostgreSQL. The
// scope columns hold canonical scope texts ("" for none); earlier_write_scopes
// holds Storage::encode_earlier_scopes; rescoped_at is NULL until a re-scope.
#include <sqlite3.h>

#include "api/value.h"
#include "engine/sqlite/sqlite_db.h"
#include "engine/sqlite/sqlite_storage.h"
#include "engine/storage_text.h"

namespace outpost {

namespace {

constexpr std::string_view kTokenColumns =
    R"("name","admin","read","write","created_at","expires_at","revoked","hash",)"
    R"("scope","write_scope","earlier_write_scopes","rescoped_at")";

std::pair<Token, std::string> read_token(const SqliteStatement& stmt) {
  Token t;
  t.name = std::string(stmt.column_text(0));
  t.admin = stmt.column_int(1) != 0;
  t.read = split_names(stmt.column_text(2));
  t.write = split_names(stmt.column_text(3));
  t.created_at_micros =
      Value::parse(ValueType::timestamp, stmt.column_text(4)).as_timestamp_micros();
  if (!stmt.is_null(5)) {
    t.expires_at_micros =
        Value::parse(ValueType::timestamp, stmt.column_text(5)).as_timestamp_micros();
  }
  t.revoked = stmt.column_int(6) != 0;
  t.scope = std::string(stmt.column_text(8));
  t.write_scope = std::string(stmt.column_text(9));
  t.earlier_write_scopes = Storage::decode_earlier_scopes(stmt.column_text(10));
  if (!stmt.is_null(11)) {
    t.rescoped_at_micros =
        Value::parse(ValueType::timestamp, stmt.column_text(11)).as_timestamp_micros();
  }
  return {std::move(t), std::string(stmt.column_text(7))};
}

}  // namespace

void SqliteStorage::insert_token(Transaction& txn, const Token& token, const std::string& hash) {
  auto stmt = conn_of(txn).prepare("INSERT INTO \"_tokens\"(" + std::string(kTokenColumns) +
                                   ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
  stmt->bind_text(1, token.name);
  stmt->bind_int(2, token.admin ? 1 : 0);
  stmt->bind_text(3, join_names(token.read));
  stmt->bind_text(4, join_names(token.write));
  stmt->bind_text(5, Value::from_timestamp_micros(token.created_at_micros).text());
  if (token.expires_at_micros) {
    stmt->bind_text(6, Value::from_timestamp_micros(*token.expires_at_micros).text());
  } else {
    stmt->bind_null(6);
  }
  stmt->bind_int(7, token.revoked ? 1 : 0);
  stmt->bind_text(8, hash);
  stmt->bind_text(9, token.scope);
  stmt->bind_text(10, token.write_scope);
  stmt->bind_text(11, encode_earlier_scopes(token.earlier_write_scopes));
  if (token.rescoped_at_micros != 0) {
    stmt->bind_text(12, Value::from_timestamp_micros(token.rescoped_at_micros).text());
  } else {
    stmt->bind_null(12);
  }
  stmt->run();
}

void SqliteStorage::update_token_scopes(Transaction& txn, const Token& token) {
  auto stmt = conn_of(txn).prepare(
      "UPDATE \"_tokens\" SET \"read\"=?, \"write\"=?, \"scope\"=?, \"write_scope\"=?, "
      "\"earlier_write_scopes\"=?, \"rescoped_at\"=? WHERE \"name\"=?");
  stmt->bind_text(1, join_names(token.read));
  stmt->bind_text(2, join_names(token.write));
  stmt->bind_text(3, token.scope);
  stmt->bind_text(4, token.write_scope);
  stmt->bind_text(5, encode_earlier_scopes(token.earlier_write_scopes));
  if (token.rescoped_at_micros != 0) {
    stmt->bind_text(6, Value::from_timestamp_micros(token.rescoped_at_micros).text());
  } else {
    stmt->bind_null(6);
  }
  stmt->bind_text(7, token.name);
  stmt->run();
}

std::vector<Token> SqliteStorage::load_tokens(Transaction& txn, const std::string& name) {
  auto stmt =
      conn_of(txn).prepare("SELECT " + std::string(kTokenColumns) + " FROM \"_tokens\"" +
                           (name.empty() ? "" : " WHERE \"name\"=?") + " ORDER BY \"name\"");
  if (!name.empty()) stmt->bind_text(1, name);
  std::vector<Token> out;
  while (stmt->step()) out.push_back(read_token(*stmt).first);
  return out;
}

bool SqliteStorage::revoke_token(Transaction& txn, const std::string& name) {
  SqliteConnection& conn = conn_of(txn);
  auto stmt = conn.prepare("UPDATE \"_tokens\" SET \"revoked\"=1 WHERE \"name\"=?");
  stmt->bind_text(1, name);
  stmt->run();
  return sqlite3_changes(conn.handle()) > 0;
}

std::optional<std::pair<Token, std::string>> SqliteStorage::find_token(Transaction& txn,
                                                                       const std::string& hash) {
  auto stmt = conn_of(txn).prepare("SELECT " + std::string(kTokenColumns) +
                                   " FROM \"_tokens\" WHERE \"hash\"=?");
  stmt->bind_text(1, hash);
  if (!stmt->step()) return std::nullopt;
  return read_token(*stmt);
}

}  // namespace outpost
