// How typed values (DESIGN.md section 3) are stored in SQLite columns:
// strings as TEXT, ints, bools and timestamps (microseconds) as INTEGER,
// floats as REAL, bytes as BLOB. Shared by the files of SqliteStorage.
#pragma once

#include <optional>
#include <string_view>

#include "api/table.h"
#include "api/value.h"

namespace outpost {

class SqliteStatement;

std::string_view sql_type(ValueType type);
// Binds `value` (null when nullptr) at parameter `index`.
void bind_value(SqliteStatement& stmt, int index, const Value* value);
std::optional<Value> read_value(const SqliteStatement& stmt, int col, ValueType type);
// Binds the table's columns from `body` starting at parameter `first`.
void bind_columns(SqliteStatement& stmt, int first, const Table& table, const Attributes& body);
// Reads the table's columns starting at result column `first`.
Attributes read_columns(const SqliteStatement& stmt, int first, const Table& table);

}  // namespace outpost
