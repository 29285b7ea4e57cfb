// Table definitions and the name rules of DESIGN.md section 2.
// Thread-safety: plain value types and pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/value.h"

namespace outpost {

struct Column {
  std::string name;
  ValueType type = ValueType::string;
  bool required = false;

  friend bool operator==(const Column&, const Column&) = default;
};

struct Table {
  std::string name;
  std::vector<Column> columns;  // in declaration order

  const Column* find_column(std::string_view column) const;
  friend bool operator==(const Table&, const Table&) = default;
};

// Each throws Error(invalid_name) with a message saying what is accepted.
void validate_table_name(
    std::string_view name);  // ^[a-z][a-z0-9_]{0,47}$, no _history, sqlite_, pg_
void validate_column_name(std::string_view name);  // ^[a-z][a-z0-9_]{0,62}$
void validate_record_id(std::string_view id);      // 1-255 bytes UTF-8, no controls, no leading '_'
// Validates a whole definition: names, duplicate columns (invalid_name).
void validate_table(const Table& table);

// Merges `incoming` into `existing` (same name): the union of columns, the
// existing ones first in their order. A type clash on one column name is
// Error(schema_conflict). Columns added to an existing table are never
// required. Returns the merged definition.
Table merge_tables(const Table& existing, const Table& incoming);
// A definition put by hand (PUT /v1/tables/{t}, outpost_table_put) against
// the stored one, if any: a column added to an existing table may not be
// required, since records written before it lack it. Error(schema_conflict)
// naming the column; merge_tables (replication) makes such a column
// optional instead.
void check_table_put(const std::optional<Table>& existing, const Table& incoming);

// The history table's SQL name: "<name>_history".
std::string history_table_name(std::string_view table);
// The engine-owned table of the table's deleted records with their last
// bodies (DESIGN.md section 14): "_tombstones_<name>".
std::string tombstone_table_name(std::string_view table);

}  // namespace outpost
