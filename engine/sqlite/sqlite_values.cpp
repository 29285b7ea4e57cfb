// Typed values to and from SQLite columns (sqlite_values.h).
#include "engine/sqlite/sqlite_values.h"

#include "engine/sqlite/sqlite_db.h"

namespace outpost {

std::string_view sql_type(ValueType type) {
  switch (type) {
    case ValueType::string:
      return "TEXT";
    case ValueType::int_:
    case ValueType::bool_:
    case ValueType::timestamp:
      return "INTEGER";
    case ValueType::float_:
      return "REAL";
    case ValueType::bytes:
      return "BLOB";
  }
  return "TEXT";
}

void bind_value(SqliteStatement& stmt, int index, const Value* value) {
  if (value == nullptr) {
    stmt.bind_null(index);
    return;
  }
  switch (value->type()) {
    case ValueType::string:
      stmt.bind_text(index, value->text());
      return;
    case ValueType::int_:
      stmt.bind_int(index, value->as_int());
      return;
    case ValueType::float_:
      stmt.bind_double(index, value->as_float());
      return;
    case ValueType::bool_:
      stmt.bind_int(index, value->as_bool() ? 1 : 0);
      return;
    case ValueType::bytes:
      stmt.bind_blob(index, value->as_bytes());
      return;
    case ValueType::timestamp:
      stmt.bind_int(index, value->as_timestamp_micros());
      return;
  }
}

std::optional<Value> read_value(const SqliteStatement& stmt, int col, ValueType type) {
  if (stmt.is_null(col)) return std::nullopt;
  switch (type) {
    case ValueType::string:
      return Value::from_string(std::string(stmt.column_text(col)));
    case ValueType::int_:
      return Value::from_int(stmt.column_int(col));
    case ValueType::float_:
      return Value::from_float(stmt.column_double(col));
    case ValueType::bool_:
      return Value::from_bool(stmt.column_int(col) != 0);
    case ValueType::bytes:
      return Value::from_bytes(stmt.column_blob(col));
    case ValueType::timestamp:
      return Value::from_timestamp_micros(stmt.column_int(col));
  }
  return std::nullopt;
}

// Binds the table's columns from `body` starting at parameter `first`.
void bind_columns(SqliteStatement& stmt, int first, const Table& table, const Attributes& body) {
  for (size_t i = 0; i < table.columns.size(); ++i) {
    auto it = body.find(table.columns[i].name);
    bind_value(stmt, first + static_cast<int>(i), it == body.end() ? nullptr : &it->second);
  }
}

Attributes read_columns(const SqliteStatement& stmt, int first, const Table& table) {
  Attributes out;
  for (size_t i = 0; i < table.columns.size(); ++i) {
    const Column& c = table.columns[i];
    if (auto v = read_value(stmt, first + static_cast<int>(i), c.type)) out.emplace(c.name, *v);
  }
  return out;
}

}  // namespace outpost
