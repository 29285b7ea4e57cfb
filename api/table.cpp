// Table definitions, the name rules of DESIGN.md section 2 and schema merges.
#include "api/table.h"

#include <set>

#include "api/error.h"
#include "utils/utf8.h"

namespace outpost {
namespace {

constexpr size_t kMaxTableName = 48;
constexpr size_t kMaxColumnName = 63;
constexpr size_t kMaxRecordId = 255;

// ^[a-z][a-z0-9_]{0,max-1}$
bool is_identifier(std::string_view name, size_t max) {
  if (name.empty() || name.size() > max) return false;
  if (name[0] < 'a' || name[0] > 'z') return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

[[noreturn]] void invalid_name(std::string what) {
  throw Error(ErrorCode::invalid_name, std::move(what));
}

}  // namespace

const Column* Table::find_column(std::string_view column) const {
  for (const Column& c : columns) {
    if (c.name == column) return &c;
  }
  return nullptr;
}

void validate_table_name(std::string_view name) {
  static constexpr std::string_view kRule =
      "table names are 1-48 characters of a-z, 0-9 and _, start with a letter, do not end in "
      "_history, do not start with sqlite_, pg_ or tombstones_ and are not sqlite or pg";
  const std::string quoted = quote_for_message(name);
  if (!is_identifier(name, kMaxTableName)) {
    invalid_name("invalid table name " + quoted + ": " + std::string(kRule));
  }
  if (name.ends_with("_history")) {
    invalid_name("invalid table name " + quoted +
                 ": names ending in _history are reserved for history tables; " +
                 std::string(kRule));
  }
  if (name.starts_with("sqlite_") || name.starts_with("pg_")) {
    invalid_name("invalid table name " + quoted +
                 ": names starting with sqlite_ or pg_ are reserved by the databases; " +
                 std::string(kRule));
  }
  if (name.starts_with("tombstones_")) {
    // The engine's _tombstones_<T> tables would clash with the indexes of
    // such a table (_<name>_conflicted) on PostgreSQL.
    invalid_name("invalid table name " + quoted +
                 ": names starting with tombstones_ are reserved for the engine's tables; " +
                 std::string(kRule));
  }
  if (name == "sqlite" || name == "pg") {
    // The derived history table (sqlite_history, pg_history) would take the
    // reserved prefix, which SQLite refuses; every backend refuses it alike.
    invalid_name("invalid table name " + quoted + ": its history table " +
                 history_table_name(name) + " would start with a reserved prefix; " +
                 std::string(kRule));
  }
}

void validate_column_name(std::string_view name) {
  if (!is_identifier(name, kMaxColumnName)) {
    invalid_name("invalid column name " + quote_for_message(name) +
                 ": column names are 1-63 characters of a-z, 0-9 and _ and start with a letter");
  }
}

void validate_record_id(std::string_view id) {
  static constexpr std::string_view kRule =
      "record ids are 1-255 bytes of UTF-8 without control characters (U+0000-U+001F, U+007F) "
      "and do not start with _";
  if (id.empty() || id.size() > kMaxRecordId) {
    invalid_name("invalid record id " + quote_for_message(id) + " (" + std::to_string(id.size()) +
                 " bytes): " + std::string(kRule));
  }
  if (const size_t bad = utf8_invalid_offset(id); bad != std::string_view::npos) {
    invalid_name("invalid record id " + quote_for_message(id) + ": not valid UTF-8 at byte " +
                 std::to_string(bad) + "; " + std::string(kRule));
  }
  if (const size_t bad = control_char_offset(id); bad != std::string_view::npos) {
    invalid_name("invalid record id " + quote_for_message(id) + ": control character at byte " +
                 std::to_string(bad) + "; " + std::string(kRule));
  }
  if (id[0] == '_') {
    invalid_name("invalid record id " + quote_for_message(id) +
                 ": ids starting with _ are reserved for the engine; " + std::string(kRule));
  }
}

void validate_table(const Table& table) {
  validate_table_name(table.name);
  std::set<std::string_view> seen;
  for (const Column& c : table.columns) {
    validate_column_name(c.name);
    if (!seen.insert(c.name).second) {
      invalid_name("table " + quote_for_message(table.name) + ": column " +
                   quote_for_message(c.name) + " is declared more than once");
    }
  }
}

void check_table_put(const std::optional<Table>& existing, const Table& incoming) {
  if (!existing) return;
  for (const Column& column : incoming.columns) {
    if (column.required && existing->find_column(column.name) == nullptr) {
      throw Error(ErrorCode::schema_conflict,
                  "table " + quote_for_message(incoming.name) + ": column " +
                      quote_for_message(column.name) +
                      " cannot be added as required, since records written before it existed "
                      "do not have it (schemas only grow); add it with \"required\": false");
    }
  }
}

Table merge_tables(const Table& existing, const Table& incoming) {
  if (existing.name != incoming.name) {
    throw Error(ErrorCode::internal, "merge_tables: cannot merge table " +
                                         quote_for_message(incoming.name) + " into " +
                                         quote_for_message(existing.name));
  }
  validate_table(incoming);
  Table merged = existing;
  for (const Column& in : incoming.columns) {
    if (const Column* have = existing.find_column(in.name)) {
      if (have->type != in.type) {
        throw Error(ErrorCode::schema_conflict,
                    "table " + quote_for_message(existing.name) + ": column " +
                        quote_for_message(in.name) + " is " +
                        std::string(value_type_name(have->type)) + ", cannot make it " +
                        std::string(value_type_name(in.type)) +
                        " (schemas only grow: columns may be added, never retyped or removed)");
      }
      continue;  // a change of `required` on an existing column is ignored
    }
    Column added = in;
    added.required = false;  // a column added later cannot be required of existing records
    merged.columns.push_back(std::move(added));
  }
  return merged;
}

std::string history_table_name(std::string_view table) { return std::string(table) + "_history"; }

std::string tombstone_table_name(std::string_view table) {
  return "_tombstones_" + std::string(table);
}

}  // namespace outpost
