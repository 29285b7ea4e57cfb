// `outpost tables`: list, show, create and extend table definitions.
#include <iostream>

#include "api/error.h"
#include "api/json.h"
#include "api/json_builder.h"
#include "api/table.h"
#include "cli/command.h"
#include "cli/output.h"

namespace outpost::cli {

namespace {

std::string type_list() {
  std::string names;
  for (ValueType type : {ValueType::string, ValueType::int_, ValueType::float_, ValueType::bool_,
                         ValueType::bytes, ValueType::timestamp}) {
    if (!names.empty()) names += ", ";
    names += value_type_name(type);
  }
  return names;
}

// "name:type" or "name:type!" (required).
Column parse_column_spec(const std::string& spec) {
  Column column;
  std::string_view text = spec;
  if (text.ends_with('!')) {
    column.required = true;
    text.remove_suffix(1);
  }
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    throw UsageError("'" + spec + "' is not a column: write name:type or name:type! (required)");
  }
  column.name = std::string(text.substr(0, colon));
  auto type = value_type_from_name(text.substr(colon + 1));
  if (!type) {
    throw UsageError("'" + std::string(text.substr(colon + 1)) + "' in '" + spec +
                     "' is not a column type; the types are " + type_list());
  }
  column.type = *type;
  return column;
}

std::vector<Column> parse_column_specs(const std::vector<std::string>& specs) {
  std::vector<Column> columns;
  for (const std::string& spec : specs) columns.push_back(parse_column_spec(spec));
  return columns;
}

std::string column_summary(const Table& table) {
  std::string text;
  for (const Column& column : table.columns) {
    if (!text.empty()) text += ", ";
    text += column.name + ":" + std::string(value_type_name(column.type));
    if (column.required) text += "!";
  }
  return text;
}

void print_table(const Context& context, const Table& table) {
  if (context.json) {
    std::cout << table_to_json(table) << "\n";
    return;
  }
  std::cout << "table " << printable(table.name) << "\n";
  TextTable out({"column", "type", "required"});
  for (const Column& column : table.columns) {
    out.add_row(
        {column.name, std::string(value_type_name(column.type)), column.required ? "yes" : "no"});
  }
  if (out.size() == 0) {
    std::cout << "(no columns)\n";
  } else {
    out.print(std::cout);
  }
}

int run_list(Context& context, const ParsedArgs&) {
  std::vector<Table> tables = context.open()->list_tables();
  if (context.json) {
    std::cout << tables_to_json(tables) << "\n";
    return 0;
  }
  if (tables.empty()) {
    std::cout << "(no tables)\n";
    return 0;
  }
  TextTable out({"table", "columns"});
  for (const Table& table : tables) out.add_row({printable(table.name), column_summary(table)});
  out.print(std::cout);
  return 0;
}

// `tables show`: the definition, then the columns with scope indexes (DESIGN.md
// section 14), which a remote database does not list.
int run_show(Context& context, const ParsedArgs& args) {
  auto engine = context.open();
  const Table table = require_table(*engine, args.positionals[0]);
  std::optional<std::vector<std::string>> indexes;
  try {
    indexes = engine->scope_indexes(table.name);
  } catch (const Error&) {
    indexes.reset();  // not available from here (a remote database)
  }
  if (context.json) {
    std::string text = table_to_json(table);
    if (indexes && text.ends_with('}')) {
      JsonBuilder w;
      w.strings(*indexes);
      text.pop_back();
      text += std::string(text.ends_with('{') ? "" : ",") + "\"scope_indexes\":" + w.str() + "}";
    }
    std::cout << text << "\n";
    return 0;
  }
  print_table(context, table);
  if (indexes && !indexes->empty()) {
    std::cout << "scope indexes: " << printable(join(*indexes)) << "\n";
  }
  return 0;
}

int run_create(Context& context, const ParsedArgs& args) {
  Table table;
  table.name = args.positionals[0];
  table.columns = parse_column_specs({args.positionals.begin() + 1, args.positionals.end()});
  validate_table(table);
  auto engine = context.open();
  if (std::optional<Table> existing = engine->get_table(table.name)) {
    if (*existing != table) {
      throw Error(ErrorCode::schema_conflict, "table '" + table.name + "' already exists as " +
                                                  column_summary(*existing) +
                                                  "; add columns with 'outpost tables add-column'");
    }
    print_table(context, *existing);  // the same definition again: nothing to do
    return 0;
  }
  print_table(context, engine->put_table(table));
  return 0;
}

int run_add_column(Context& context, const ParsedArgs& args) {
  Table incoming;
  incoming.name = args.positionals[0];
  incoming.columns = parse_column_specs({args.positionals.begin() + 1, args.positionals.end()});
  for (const Column& column : incoming.columns) {
    if (column.required) {
      throw UsageError("column '" + column.name +
                       "' cannot be required: columns added to a table never are");
    }
  }
  validate_table(incoming);
  auto engine = context.open();
  require_table(*engine, incoming.name);
  print_table(context, engine->put_table(incoming));
  return 0;
}

// Shared by the help of create and add-column.
#define OUTPOST_CLI_TYPES_HELP                                                       \
  "Column types: string, int, float, bool, bytes, timestamp. A trailing '!' makes\n" \
  "a column required (name:string!). Table names match ^[a-z][a-z0-9_]{0,47}$\n"     \
  "(not ending in _history, not beginning with sqlite_ or pg_); column names\n"      \
  "match ^[a-z][a-z0-9_]{0,62}$.\n"

const Command kCommands[] = {
    {.name = "list",
     .usage = "",
     .summary = "list the tables and their columns",
     .details = "With --json: {\"tables\": [{\"name\", \"columns\": [...]}]}.\n",
     .max_args = 0,
     .run = run_list},
    {.name = "show",
     .usage = "T",
     .summary = "show the columns of table T",
     .details = "Also lists the columns that have scope indexes (created when a stored scope\n"
                "first names a column). --json: the definition with \"scope_indexes\": [...].\n",
     .min_args = 1,
     .max_args = 1,
     .run = run_show},
    {.name = "create",
     .usage = "T col:type[!] ...",
     .summary = "create table T with the given columns",
     .details = "Creating a table that exists with exactly these columns does nothing;\n"
                "with other columns it fails with schema_conflict (use "
                "add-column).\n\n" OUTPOST_CLI_TYPES_HELP
                "\nexample: outpost tables create households head_name:string! size:int "
                "visited:timestamp\n",
     .min_args = 1,
     .run = run_create},
    {.name = "add-column",
     .usage = "T col:type ...",
     .summary = "add columns to table T (never required; schemas only grow)",
     .details = OUTPOST_CLI_TYPES_HELP,
     .min_args = 2,
     .run = run_add_column},
};

#undef OUTPOST_CLI_TYPES_HELP

const CommandGroup kGroup{"tables", "list, show, create and extend tables", kCommands};

}  // namespace

const CommandGroup& tables_commands() { return kGroup; }

}  // namespace outpost::cli
