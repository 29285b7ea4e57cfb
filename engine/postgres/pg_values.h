// How typed values (DESIGN.md section 3) travel to and from PostgreSQL
// columns: bound as their canonical text (bytes as \x hex), read back as
// text through pg_select_expr. Shared by the files of PgStorage.
// Internal to engine/postgres/. Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "api/table.h"
#include "api/value.h"

namespace outpost {

class PgResult;

// The SQL array type of a column of `type` ("bigint[]", ...).
std::string_view pg_array_type(ValueType type);
// The expression that reads column `c` back as text the Value factories take.
std::string pg_select_expr(const Column& c);
// The text a value is bound as (PostgreSQL reads it exactly).
std::string pg_value_text(const Value& value);
// The table's columns of row `row`, from result column `first` (read
// through pg_select_expr); null columns are absent.
Attributes pg_read_columns(const PgResult& res, int row, int first, const Table& table);

}  // namespace outpost
