// API tokens in the _tokens table of a PostgreSQL database (DESIGN.md
// sections 9 and 14): the same columns and encodings as on SQLite (see
// sqlite_tokens.cpp).
#include "api/value.h"
#include "engine/postgres/pg_connection.h"
#include "engine/postgres/pg_storage.h"
#include "engine/storage_text.h"

namespace outpost {

namespace {

constexpr std::string_view kTokenColumns =
    R"("name","admin","read","write","created_at","expires_at","revoked","hash",)"
    R"("scope","write_scope","earlier_write_scopes","rescoped_at")";

std::pair<Token, std::string> read_token(const PgResult& res, int row) {
  Token t;
  t.name = std::string(res.text(row, 0));
  t.admin = res.boolean(row, 1);
  t.read = split_names(res.text(row, 2));
  t.write = split_names(res.text(row, 3));
  t.created_at_micros = Value::parse(ValueType::timestamp, res.text(row, 4)).as_timestamp_micros();
  if (!res.is_null(row, 5)) {
    t.expires_at_micros =
        Value::parse(ValueType::timestamp, res.text(row, 5)).as_timestamp_micros();
  }
  t.revoked = res.boolean(row, 6);
  t.scope = std::string(res.text(row, 8));
  t.write_scope = std::string(res.text(row, 9));
  t.earlier_write_scopes = Storage::decode_earlier_scopes(res.text(row, 10));
  if (!res.is_null(row, 11)) {
    t.rescoped_at_micros =
        Value::parse(ValueType::timestamp, res.text(row, 11)).as_timestamp_micros();
  }
  return {std::move(t), std::string(res.text(row, 7))};
}

}  // namespace

void PgStorage::insert_token(Transaction& txn, const Token& token, const std::string& hash) {
  PgParams params;
  params.add(token.name).add(token.admin).add(join_names(token.read)).add(join_names(token.write));
  params.add(Value::from_timestamp_micros(token.created_at_micros).text());
  if (token.expires_at_micros) {
    params.add(Value::from_timestamp_micros(*token.expires_at_micros).text());
  } else {
    params.add_null();
  }
  params.add(token.revoked).add(hash).add(token.scope).add(token.write_scope);
  params.add(encode_earlier_scopes(token.earlier_write_scopes));
  if (token.rescoped_at_micros != 0) {
    params.add(Value::from_timestamp_micros(token.rescoped_at_micros).text());
  } else {
    params.add_null();
  }
  try {
    conn_of(txn).query("INSERT INTO \"_tokens\"(" + std::string(kTokenColumns) +
                           ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
                       params);
  } catch (const PgStatementError& e) {
    // Another connection created a token of that name meanwhile: running
    // again finds it and reports the conflict.
    if (e.sqlstate() == "23505") throw RetryableError("a token was created at the same time");
    throw;
  }
}

std::vector<Token> PgStorage::load_tokens(Transaction& txn, const std::string& name) {
  PgResult res = name.empty() ? conn_of(txn).query("SELECT " + std::string(kTokenColumns) +
                                                   " FROM \"_tokens\" ORDER BY \"name\"")
                              : conn_of(txn).query("SELECT " + std::string(kTokenColumns) +
                                                       " FROM \"_tokens\" WHERE \"name\"=$1",
                                                   PgParams().add(name));
  std::vector<Token> out;
  for (int r = 0; r < res.rows(); ++r) out.push_back(read_token(res, r).first);
  return out;
}

bool PgStorage::revoke_token(Transaction& txn, const std::string& name) {
  PgResult res = conn_of(txn).query("UPDATE \"_tokens\" SET \"revoked\"=true WHERE \"name\"=$1",
                                    PgParams().add(name));
  return res.affected() > 0;
}

void PgStorage::update_token_scopes(Transaction& txn, const Token& token) {
  PgParams params;
  params.add(join_names(token.read)).add(join_names(token.write)).add(token.scope);
  params.add(token.write_scope).add(encode_earlier_scopes(token.earlier_write_scopes));
  if (token.rescoped_at_micros != 0) {
    params.add(Value::from_timestamp_micros(token.rescoped_at_micros).text());
  } else {
    params.add_null();
  }
  params.add(token.name);
  conn_of(txn).query(
      "UPDATE \"_tokens\" SET \"read\"=$1, \"write\"=$2, \"scope\"=$3, \"write_scope\"=$4, "
      "\"earlier_write_scopes\"=$5, \"rescoped_at\"=$6 WHERE \"name\"=$7",
      params);
}

std::optional<std::pair<Token, std::string>> PgStorage::find_token(Transaction& txn,
                                                                   const std::string& hash) {
  PgResult res = conn_of(txn).query(
      "SELECT " + std::string(kTokenColumns) + " FROM \"_tokens\" WHERE \"hash\"=$1",
      PgParams().add(hash));
  if (res.rows() == 0) return std::nullopt;
  return read_token(res, 0);
}

}  // namespace outpost
