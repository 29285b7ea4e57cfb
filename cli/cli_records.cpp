// `outpost records`: get, put, delete, list, conflicts, resolve, purge, purge-log.
// col=value arguments take the column's declared type (DESIGN.md section 11).
#include <algorithm>
#include <iostream>
#include <map>
#include <optional>

#include "api/json.h"
#include "api/json_builder.h"
#include "api/scope.h"
#include "cli/command.h"
#include "cli/output.h"
#include "reconciler/scoping.h"

namespace outpost::cli {

namespace {

// Parsed col=value arguments; nullopt is null (the attribute is left out).
using Assignments = std::map<std::string, std::optional<Value>>;

std::string column_names(const Table& table) {
  std::string names;
  for (const Column& column : table.columns) {
    if (!names.empty()) names += ", ";
    names += column.name;
  }
  return names.empty() ? "none" : names;
}

Assignments parse_assignments(const Table& table, std::span<const std::string> items) {
  Assignments assignments;
  for (const std::string& item : items) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw UsageError("'" + printable(item) + "' is not col=value");
    }
    std::string name = item.substr(0, eq);
    std::string_view text = std::string_view(item).substr(eq + 1);
    const Column* column = table.find_column(name);
    if (column == nullptr) {
      throw Error(ErrorCode::unknown_column, "table '" + table.name + "' has no column '" + name +
                                                 "' (columns: " + column_names(table) + ")");
    }
    std::optional<Value> value;
    if (!text.empty() || column->type == ValueType::string) {
      value = Value::parse(column->type, text, name);
    }
    if (!assignments.emplace(name, std::move(value)).second) {
      throw UsageError("column '" + name + "' is given twice");
    }
  }
  return assignments;
}

Attributes apply(Attributes attributes, const Assignments& assignments) {
  for (const auto& [name, value] : assignments) {
    if (value) {
      attributes.insert_or_assign(name, *value);
    } else {
      attributes.erase(name);
    }
  }
  return attributes;
}

std::span<const std::string> tail(const ParsedArgs& args, size_t from) {
  return std::span<const std::string>(args.positionals).subspan(from);
}

std::string joined(const std::vector<Revision>& revisions) {
  std::string text;
  for (const Revision& revision : revisions) {
    if (!text.empty()) text += ", ";
    text += revision.str();
  }
  return text;
}

[[noreturn]] void throw_not_found(const std::string& table, const std::string& id,
                                  std::string_view what = "does not exist") {
  throw Error(ErrorCode::not_found,
              "record '" + id + "' of table '" + table + "' " + std::string(what));
}

// The body of revision `revision`; not_found when it is unknown or body-less.
Attributes body_of(Engine& engine, const std::string& table, const std::string& id,
                   const Revision& revision) {
  GetOptions options;
  options.revision = revision;
  std::optional<Record> record = engine.get(table, id, options);
  if (!record) throw_not_found(table, id, "has no revision " + revision.str() + " with a body");
  return record->attributes;
}

void print_write(const Context& context, const WriteResult& result) {
  if (context.json) {
    std::cout << write_result_to_json(result) << "\n";
    return;
  }
  TextTable out({"id", printable(result.id)});
  out.add_row({"revision", result.revision.str()});
  out.print(std::cout);
}

std::string display_value(const std::optional<Value>& value) {
  if (!value) return "null";
  return value->type() == ValueType::string ? quoted(value->text()) : printable(value->text());
}

void print_record(const Table& table, const Record& record) {
  TextTable head({"id", printable(record.id)});
  head.add_row({"revision", record.revision.str()});
  head.add_row({"deleted", record.deleted ? "true" : "false"});
  if (record.conflicts) {
    head.add_row({"conflicts", record.conflicts->empty() ? "none" : joined(*record.conflicts)});
  }
  head.print(std::cout);
  if (record.deleted) return;

  // Declared columns in their order (null when absent), then anything else.
  std::vector<std::pair<std::string, std::optional<Value>>> lines;
  for (const Column& column : table.columns) {
    auto it = record.attributes.find(column.name);
    lines.emplace_back(column.name, it == record.attributes.end()
                                        ? std::nullopt
                                        : std::optional<Value>(it->second));
  }
  for (const auto& [name, value] : record.attributes) {
    if (table.find_column(name) == nullptr) lines.emplace_back(name, value);
  }
  size_t width = 0;
  for (const auto& line : lines) width = std::max(width, display_width(line.first));
  for (const auto& [name, value] : lines) {
    std::cout << name << std::string(width - display_width(name), ' ') << " = "
              << display_value(value) << "\n";
  }
}

int run_get(Context& context, const ParsedArgs& args) {
  const std::string& table_name = args.positionals[0];
  const std::string& id = args.positionals[1];
  auto engine = context.open();
  const Table table = require_table(*engine, table_name);
  GetOptions options;
  options.conflicts = args.has("conflicts");
  if (auto revision = args.get("revision")) options.revision = Revision::parse(*revision);
  std::optional<Record> record = engine->get(table_name, id, options);
  if (!record) {
    if (options.revision.empty()) throw_not_found(table_name, id);
    throw_not_found(table_name, id, "has no revision " + options.revision.str() + " with a body");
  }
  if (context.json) {
    std::cout << record_to_json(*record) << "\n";
  } else {
    print_record(table, *record);
  }
  return 0;
}

int run_put(Context& context, const ParsedArgs& args) {
  const bool generated = args.has("new");
  const bool merge = args.has("merge");
  if (generated && (args.has("revision") || merge)) {
    throw UsageError("--new creates a record: it goes with neither --revision nor --merge");
  }
  if (!generated && args.positionals.size() < 2) {
    throw UsageError("'outpost records put' needs an id, or --new for a generated one");
  }
  const std::string& table_name = args.positionals[0];
  const std::string id = generated ? std::string() : args.positionals[1];
  auto engine = context.open();
  const Table table = require_table(*engine, table_name);
  const Assignments assignments = parse_assignments(table, tail(args, generated ? 1 : 2));

  Revision parent;
  if (auto revision = args.get("revision")) {
    parent = Revision::parse(*revision);
  } else if (!generated) {
    std::optional<Record> current = engine->get(table_name, id);
    if (current && !current->deleted) parent = current->revision;
  }
  Attributes base;
  if (merge && !parent.empty()) base = body_of(*engine, table_name, id, parent);
  print_write(context,
              put_record(*engine, table_name, id, parent, apply(std::move(base), assignments)));
  return 0;
}

int run_delete(Context& context, const ParsedArgs& args) {
  const std::string& table_name = args.positionals[0];
  const std::string& id = args.positionals[1];
  auto engine = context.open();
  require_table(*engine, table_name);
  Revision parent;
  if (auto revision = args.get("revision")) {
    parent = Revision::parse(*revision);
  } else {
    std::optional<Record> current = engine->get(table_name, id);
    if (!current) throw_not_found(table_name, id);
    if (current->deleted) throw_not_found(table_name, id, "is already deleted");
    parent = current->revision;
  }
  print_write(context, delete_record(*engine, table_name, id, parent));
  return 0;
}

int run_list(Context& context, const ParsedArgs& args) {
  const std::string& table_name = args.positionals[0];
  const auto limit = static_cast<size_t>(args.get_int("limit", 100, 1, 10000));
  auto engine = context.open();
  const Table table = require_table(*engine, table_name);
  std::optional<Scope> where;
  if (auto clause = args.get("where")) where = parse_where(*engine, table_name, *clause);
  RecordPage page =
      engine->list_records(table_name, args.get_or("after", ""), limit, where ? &*where : nullptr);
  if (context.json) {
    std::cout << record_page_to_json(page) << "\n";
    return 0;
  }
  if (page.records.empty()) {
    std::cout << "(no records)\n";
    return 0;
  }
  std::vector<std::string> header{"id", "revision"};
  for (const Column& column : table.columns) header.push_back(column.name);
  TextTable out(std::move(header));
  for (const Record& record : page.records) {
    std::vector<std::string> row{cell(record.id), record.revision.str()};
    for (const Column& column : table.columns) {
      auto it = record.attributes.find(column.name);
      row.push_back(it == record.attributes.end() ? "" : cell(it->second.text()));
    }
    out.add_row(std::move(row));
  }
  out.print(std::cout);
  if (!page.next.empty()) {
    std::cerr << "(more records: add --after " << printable(page.next) << ")\n";
  }
  return 0;
}

int run_conflicts(Context& context, const ParsedArgs& args) {
  const std::string table_name = args.positionals.empty() ? "" : args.positionals[0];
  const auto limit = static_cast<size_t>(args.get_int("limit", 100, 1, 10000));
  auto engine = context.open();
  if (!table_name.empty()) require_table(*engine, table_name);
  ConflictPage page = engine->list_conflicts(table_name, args.get_or("after", ""), limit);
  if (context.json) {
    std::cout << conflict_page_to_json(page) << "\n";
    return 0;
  }
  if (page.entries.empty()) {
    std::cout << "(no conflicts)\n";
    return 0;
  }
  TextTable out({"table", "id", "winner", "conflicts"});
  for (const ConflictEntry& entry : page.entries) {
    out.add_row({entry.table, cell(entry.id), entry.winner.str(), joined(entry.conflicts)});
  }
  out.print(std::cout);
  if (!page.next.empty()) {
    std::cerr << "(more conflicts: add --after " << printable(page.next) << ")\n";
  }
  return 0;
}

int run_resolve(Context& context, const ParsedArgs& args) {
  const std::string& table_name = args.positionals[0];
  const std::string& id = args.positionals[1];
  const Revision leaf = Revision::parse(args.positionals[2]);
  auto engine = context.open();
  const Table table = require_table(*engine, table_name);
  const Assignments assignments = parse_assignments(table, tail(args, 3));
  Attributes attributes = apply(body_of(*engine, table_name, id, leaf), assignments);
  print_write(context, resolve_record(*engine, table_name, id, leaf, attributes));
  return 0;
}

// The ids of the records of `table` (live or deleted) that match `clause`.
std::vector<std::string> matching_ids(Engine& engine, const std::string& table,
                                      const ScopeClause& clause) {
  RecordSelection selection;
  selection.kind = RecordSelection::Kind::matching;
  selection.clause = &clause;
  std::vector<std::string> ids;
  std::string after;
  for (;;) {
    IdPage page = engine.record_ids(table, selection, after, 1000);
    ids.insert(ids.end(), page.ids.begin(), page.ids.end());
    if (page.next.empty() || page.ids.empty()) break;
    after = page.next;
  }
  return ids;
}

int run_purge(Context& context, const ParsedArgs& args) {
  const std::string& table_name = args.positionals[0];
  const std::optional<std::string> clause = args.get("where");
  if (clause.has_value() == (args.positionals.size() > 1)) {
    throw UsageError("'outpost records purge' takes either record ids or --where CLAUSE");
  }
  const std::string reason = args.get_or("reason", "outpost records purge");
  auto engine = context.open();
  require_table(*engine, table_name);
  std::vector<std::string> ids;
  if (clause) {
    const Scope scope = parse_where(*engine, table_name, *clause);
    const ScopeClause* found = scope.find(table_name);
    if (found == nullptr) throw Error(ErrorCode::invalid_scope, "--where names no clause");
    ids = matching_ids(*engine, table_name, *found);
  } else {
    ids.assign(args.positionals.begin() + 1, args.positionals.end());
  }

  size_t purged = 0;
  std::vector<std::string> waiting;
  std::vector<std::string> absent;
  constexpr size_t kBatch = 1000;
  for (size_t i = 0; i < ids.size(); i += kBatch) {
    std::vector<std::string> batch(
        ids.begin() + static_cast<std::ptrdiff_t>(i),
        ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), i + kBatch)));
    if (args.has("force")) {
      PurgeRequest request;
      request.table = table_name;
      request.ids = std::move(batch);
      request.reason = reason;
      PurgeResult result = engine->purge(request);
      purged += result.purged.size();
      absent.insert(absent.end(), result.absent.begin(), result.absent.end());
    } else {
      PurgeOutcome outcome = purge_acknowledged(*engine, table_name, batch, reason);
      purged += outcome.purged;
      waiting.insert(waiting.end(), outcome.waiting.begin(), outcome.waiting.end());
    }
  }

  if (context.json) {
    JsonBuilder w;
    w.start_object();
    w.field("table", table_name);
    w.field_count("purged", purged);
    w.string("waiting");
    w.strings(waiting);
    w.end_object();
    std::cout << w.str() << "\n";
    return 0;
  }
  std::cout << with_thousands(static_cast<double>(purged)) << " records purged from "
            << printable(table_name);
  if (!waiting.empty()) {
    std::cout << ", " << with_thousands(static_cast<double>(waiting.size()))
              << " waiting to be purged";
  }
  if (!absent.empty()) {
    std::cout << ", " << with_thousands(static_cast<double>(absent.size())) << " absent";
  }
  std::cout << "\n";
  if (!waiting.empty()) {
    std::cout << "these records have revisions no database without a scope has acknowledged;\n"
                 "they are purged once such a database holds them (push with 'outpost sync',\n"
                 "then purge again), or now with --force, which may lose those revisions.\n";
    print_waiting(waiting);
  }
  return 0;
}

int run_purge_log(Context& context, const ParsedArgs& args) {
  const auto skip = static_cast<size_t>(args.get_int("skip", 0));
  const auto limit = static_cast<size_t>(args.get_int("limit", 1000, 1, 100000));
  std::vector<PurgeLogEntry> entries = context.open()->purge_log(skip, limit);
  if (context.json) {
    JsonBuilder w;
    w.start_object();
    w.string("entries");
    w.start_array();
    for (const PurgeLogEntry& e : entries) {
      w.start_object();
      w.field("table", e.table);
      w.field("id", e.id);
      w.field("at", e.at);
      w.field("reason", e.reason);
      w.end_object();
    }
    w.end_array();
    w.end_object();
    std::cout << w.str() << "\n";
    return 0;
  }
  if (entries.empty()) {
    std::cout << "(no purges)\n";
    return 0;
  }
  TextTable out({"at", "table", "id", "reason"});
  for (const PurgeLogEntry& e : entries) {
    out.add_row({printable(e.at), printable(e.table), cell(e.id), cell(e.reason, 60)});
  }
  out.print(std::cout);
  if (entries.size() == limit) {
    std::cerr << "(more entries: add --skip " << skip + limit << ")\n";
  }
  return 0;
}

constexpr OptionSpec kGetOptions[] = {
    {"conflicts", "", "also list the record's conflicting revisions"},
    {"revision", "R", "read revision R instead of the winner"},
};
constexpr OptionSpec kPutOptions[] = {
    {"revision", "R", "build on leaf revision R instead of the current winner"},
    {"new", "", "create a record with a generated id (UUID v4); no ID argument then"},
    {"merge", "", "keep the columns not named from the revision built on"},
};
constexpr OptionSpec kDeleteOptions[] = {
    {"revision", "R", "delete leaf revision R instead of the current winner"},
};
constexpr OptionSpec kPageOptions[] = {
    {"after", "CURSOR", "start after this id (the cursor printed by the previous page)"},
    {"limit", "N", "at most N entries (default 100, at most 10000)"},
};
constexpr OptionSpec kListOptions[] = {
    {"after", "CURSOR", "start after this id (the cursor printed by the previous page)"},
    {"limit", "N", "at most N entries (default 100, at most 10000)"},
    {"where", "CLAUSE", "only records matching CLAUSE, a scope clause: \"district = 'x'\""},
};
constexpr OptionSpec kPurgeOptions[] = {
    {"where", "CLAUSE", "purge the records matching CLAUSE (live or deleted) instead of IDs"},
    {"reason", "TEXT", "the reason written to the purge log"},
    {"force", "", "purge now, even revisions no other database has (they may be lost)"},
};
constexpr OptionSpec kPurgeLogOptions[] = {
    {"skip", "N", "leave out the first N entries"},
    {"limit", "N", "at most N entries (default 1000)"},
};

#define OUTPOST_CLI_VALUES_HELP                                                        \
  "Each col=value takes the column's declared type, with no type tag: size=6,\n"       \
  "lat=0.3476, consent=true, visited=2026-11-22T10:00:00Z, photo=AAEC/w== (base64).\n" \
  "col= is the empty string for a string column and null for any other.\n"

const Command kCommands[] = {
    {.name = "get",
     .usage = "T ID [--conflicts] [--revision R]",
     .summary = "show record ID of table T (its winning revision)",
     .details = "With --json the record is printed as the HTTP API returns it:\n"
                "{\"table\", \"id\", \"revision\", \"deleted\", \"attributes\", "
                "\"conflicts\"?}.\nA deleted record is shown with deleted true.\n",
     .options = kGetOptions,
     .min_args = 2,
     .max_args = 2,
     .run = run_get},
    {.name = "put",
     .usage = "T {ID|--new} col=value ...",
     .summary = "create or update a record",
     .details = "Writes a new revision of record ID holding exactly the given columns (with\n"
                "--merge, the other columns keep their values). It builds on the current\n"
                "winner, or on leaf R with --revision R, and creates the record when it\n"
                "does not exist (or is deleted). --new creates a record with a generated\n"
                "id. Prints the id and the new revision; --json: {\"table\", \"id\", "
                "\"revision\"}.\n\n" OUTPOST_CLI_VALUES_HELP
                "\nexample: outpost records put households h-001 head_name='Amina Okello' "
                "size=6\n",
     .options = kPutOptions,
     .min_args = 1,
     .run = run_put},
    {.name = "delete",
     .usage = "T ID [--revision R]",
     .summary = "delete a record (writes a tombstone on the winner, or on leaf R)",
     .details = "Prints the id and the tombstone's revision; --json: {\"table\", \"id\", "
                "\"revision\"}.\n",
     .options = kDeleteOptions,
     .min_args = 2,
     .max_args = 2,
     .run = run_delete},
    {.name = "list",
     .usage = "T [--where CLAUSE] [--after ID] [--limit N]",
     .summary = "list the live records of table T in id order",
     .details =
         "A cut-off page says on stderr how to ask for the next one.\n"
         "--where CLAUSE lists only the records matching CLAUSE, written as a table's\n"
         "clause in a scope (see 'outpost scope set --help'), e.g.\n"
         "  outpost records list households --where \"district = 'north' AND size IN (5, 6)\"\n"
         "--json: {\"records\": [...], \"next\"}.\n",
     .options = kListOptions,
     .min_args = 1,
     .max_args = 1,
     .run = run_list},
    {.name = "conflicts",
     .usage = "[T] [--after CURSOR] [--limit N]",
     .summary = "list the records that have conflicts (in table T, or in all tables)",
     .details = "Resolve one with 'outpost records resolve'.\n"
                "--json: {\"conflicts\": [{\"table\", \"id\", \"winner\", \"conflicts\"}], "
                "\"next\"}.\n",
     .options = kPageOptions,
     .max_args = 1,
     .run = run_conflicts},
    {.name = "resolve",
     .usage = "T ID REV [col=value ...]",
     .summary = "end a conflict: keep leaf REV (optionally changed), delete the other leaves",
     .details = "Writes, in one transaction, a new revision on leaf REV and a tombstone on\n"
                "every other live leaf. The new revision holds REV's columns with the given\n"
                "col=value changes; with none, REV is kept as it is.\n\n" OUTPOST_CLI_VALUES_HELP,
     .min_args = 3,
     .run = run_resolve},
    {.name = "purge",
     .usage = "T {ID ...|--where CLAUSE} [--reason TEXT] [--force]",
     .summary = "remove records from this database with their whole history",
     .details = "A purge is local: it is not replicated, not in the feed, and listed in the\n"
                "purge log ('outpost records purge-log'). A purged record comes back only by\n"
                "replication. By default a record is purged only when a database without a\n"
                "scope (a hub, a full copy) that this one pushed to holds every revision of it;\n"
                "the others are kept and listed as waiting: push ('outpost sync') and purge\n"
                "again. --force purges them anyway, and may drop revisions no other database\n"
                "has. --where CLAUSE (a scope clause, e.g. \"district = 'x'\") purges the\n"
                "records matching it, deleted ones by their last body.\n"
                "--json: {\"table\", \"purged\", \"waiting\": [\"table/id\", ...]}.\n",
     .options = kPurgeOptions,
     .min_args = 1,
     .run = run_purge},
    {.name = "purge-log",
     .usage = "[--skip N] [--limit N]",
     .summary = "list the records purged from this database, oldest first",
     .details = "--json: {\"entries\": [{\"table\", \"id\", \"at\", \"reason\"}]}.\n",
     .options = kPurgeLogOptions,
     .max_args = 0,
     .run = run_purge_log},
};

#undef OUTPOST_CLI_VALUES_HELP

const CommandGroup kGroup{"records", "read and write records", kCommands};

}  // namespace

const CommandGroup& records_commands() { return kGroup; }

}  // namespace outpost::cli
