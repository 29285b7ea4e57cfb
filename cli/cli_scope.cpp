// `outpost scope`: show, set or clear the database's own scope (DESIGN.md
// section 14), and the scope parsing the other commands share (--scope,
// --where). Setting a narrower scope purges what fell out of it, but only
// what a database without a scope has acknowledged (reconciler/scoping.h);
// the rest waits for a push.
#include <iostream>

#include "api/error.h"
#include "api/json_builder.h"
#include "api/scope.h"
#include "cli/command.h"
#include "cli/output.h"
#include "reconciler/scoping.h"

namespace outpost::cli {

Scope parse_scope_for(Engine& engine, std::string_view text) {
  return parse_scope(text, engine.list_tables());
}

Scope parse_where(Engine& engine, const std::string& table, std::string_view clause) {
  require_table(engine, table);
  return outpost::parse_where(table, clause, engine.list_tables());
}

namespace {

// How many of the records waiting for a push are listed in text output.
constexpr size_t kWaitingShown = 10;

void print_scope(const Context& context, const std::optional<Scope>& scope) {
  if (context.json) {
    std::cout << scope_outcome_json(scope) << "\n";
    return;
  }
  if (!scope) {
    std::cout << "none (the database holds every record)\n";
    return;
  }
  TextTable out({"scope", printable(scope_text(*scope))});
  out.add_row({"fingerprint", scope_fingerprint(*scope)});
  out.print(std::cout);
}

// The outcome of a purge: counts, and the records still waiting.
void print_outcome(const Context& context, const std::optional<Scope>& scope,
                   const PurgeOutcome& outcome) {
  if (context.json) {
    std::cout << scope_outcome_json(scope, &outcome) << "\n";
    return;
  }
  if (scope) {
    std::cout << "scope set: " << printable(scope_text(*scope)) << "\n";
  } else {
    std::cout << "scope cleared: the database holds every record it receives\n";
  }
  std::cout << with_thousands(static_cast<double>(outcome.purged)) << " records purged";
  if (!outcome.waiting.empty()) {
    std::cout << ", " << with_thousands(static_cast<double>(outcome.waiting.size()))
              << " waiting to be purged";
  }
  std::cout << "\n";
  print_waiting(outcome.waiting);
}

int run_show(Context& context, const ParsedArgs&) {
  print_scope(context, context.open()->scope());
  return 0;
}

int run_set(Context& context, const ParsedArgs& args) {
  auto engine = context.open();
  const Scope scope = parse_scope_for(*engine, args.positionals[0]);
  const PurgeOutcome outcome = set_database_scope(*engine, scope);
  print_outcome(context, scope, outcome);
  return 0;
}

int run_prepare(Context& context, const ParsedArgs& args) {
  auto engine = context.open();
  const Scope scope = parse_scope_for(*engine, args.positionals[0]);
  engine->prepare_scope(scope);
  if (context.json) {
    JsonBuilder w;
    w.start_object();
    for (const ScopeClause& clause : scope.clauses) {
      w.string(clause.table);
      w.strings(engine->scope_indexes(clause.table));
    }
    w.end_object();
    std::cout << w.str() << "\n";
    return 0;
  }
  for (const ScopeClause& clause : scope.clauses) {
    std::string columns;
    for (const std::string& c : engine->scope_indexes(clause.table)) {
      columns += (columns.empty() ? "" : ", ") + c;
    }
    std::cout << clause.table << ": scope indexes on " << (columns.empty() ? "(none)" : columns)
              << "\n";
  }
  return 0;
}

int run_clear(Context& context, const ParsedArgs&) {
  auto engine = context.open();
  const PurgeOutcome outcome = set_database_scope(*engine, std::nullopt);
  print_outcome(context, std::nullopt, outcome);
  return 0;
}

#define OUTPOST_CLI_SCOPE_HELP                                                               \
  "A scope names, per table, the records a database holds:\n"                                \
  "  households: district = 'kampala-north' AND status IN ('open', 'pending'); clinics: *\n" \
  "Clauses are separated by ';', one per table; a table not named is outside the\n"          \
  "scope. A clause is '*' or an AND of 'col = literal', 'col IN (literal, ...)' and\n"       \
  "'col IS NULL' over the table's declared columns or _id. String, timestamp and\n"          \
  "bytes literals are quoted ('' escapes a quote). A bad scope is invalid_scope.\n"

const Command kCommands[] = {
    {.name = "show",
     .usage = "",
     .summary = "print the database's scope and its fingerprint (or none)",
     .details = "--json: {\"scope\": text or null, \"fingerprint\": hex or null}.\n",
     .max_args = 0,
     .run = run_show},
    {.name = "set",
     .usage = "'SCOPE'",
     .summary = "make the database hold only the records in SCOPE",
     .details = "Replication into the database then asks only for SCOPE, and records that\n"
                "fall out of it are purged (removed with their whole history, listed in\n"
                "'outpost records purge-log'). A record is purged only once a database\n"
                "without a scope (a hub, a full copy) that this one pushed to holds every\n"
                "revision of it; the others wait and leave after the next push ('outpost\n"
                "sync'). Prints how many records were purged and which still wait.\n"
                "--json: {\"scope\", \"fingerprint\", \"purged\", \"waiting\": "
                "[\"table/id\", ...]}.\n\n" OUTPOST_CLI_SCOPE_HELP
                "\nexample: outpost scope set \"households: district = 'kampala-north'\"\n",
     .min_args = 1,
     .max_args = 1,
     .run = run_set},
    {.name = "prepare",
     .usage = "'SCOPE'",
     .summary = "create the indexes SCOPE needs, without storing it (e.g. on a hub)",
     .details = "A scoped feed read from the beginning goes through indexes on the columns its\n"
                "scope names; without them it reads the whole table. Run this on a hub for the\n"
                "scopes its devices pull (a device's own scope gets them from 'scope set').\n"
                "On PostgreSQL the index is built inside a transaction: writers to that table\n"
                "wait until it is built. --json: {table: [indexed column, ...]}.\n",
     .min_args = 1,
     .max_args = 1,
     .run = run_prepare},
    {.name = "clear",
     .usage = "",
     .summary = "remove the database's scope (it holds every record again)",
     .details = "Records purged before come back by replication. --json: as 'scope set'.\n",
     .max_args = 0,
     .run = run_clear},
};

#undef OUTPOST_CLI_SCOPE_HELP

const CommandGroup kGroup{"scope", "show or change which records this database holds", kCommands};

}  // namespace

void print_waiting(const std::vector<std::string>& waiting) {
  if (waiting.empty()) return;
  std::cout << "waiting for a push to a database without a scope (run 'outpost sync'):\n";
  for (size_t i = 0; i < waiting.size() && i < kWaitingShown; ++i) {
    std::cout << "  " << printable(waiting[i]) << "\n";
  }
  if (waiting.size() > kWaitingShown) {
    std::cout << "  ... and " << waiting.size() - kWaitingShown << " more (see --json)\n";
  }
}

const CommandGroup& scope_commands() { return kGroup; }

}  // namespace outpost::cli
