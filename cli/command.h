// The shape of an `outpost` command: groups of subcommands (`tables`,
// `records`) or single commands (`changes`, `bench`), each with its options
// and --help text, and the Context they run in (the global options).
// main.cpp holds the table of groups; run_command() does the parsing, the
// help and the argument-count checks for all of them, so each command's
// run function sees well-formed arguments only.
// Thread-safety: used from main's thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/engine.h"
#include "api/version.h"
#include "cli/args.h"
#include "client/http_engine.h"
#include "engine/open.h"

namespace outpost::cli {

inline constexpr std::string_view kVersion = kOutpostVersion;

// The global options, as they apply to the command being run.
struct Context {
  std::string db_url;  // as given with --db; empty: $OUTPOST_DB, then sqlite:outpost.db
  bool json = false;
  Durability durability = Durability::full;

  // Opens the database named by db_url (throws outpost::Error).
  std::unique_ptr<Engine> open() const;
  // db_url, or the default open_engine() would use.
  std::string effective_db_url() const;
  // Like open(), and also a server's database when db_url is http(s)://,
  // with the token of --token (in `args`) or $OUTPOST_TOKEN. --token with a
  // local database is a UsageError.
  std::unique_ptr<Engine> open_local_or_remote(const ParsedArgs& args) const;
};

// The client options of a command that may talk to a server: the token
// of --token or $OUTPOST_TOKEN, --insecure and --cacert FILE (when the
// command has them). UsageError when --insecure and --cacert are both given.
HttpClientOptions http_client_options(const ParsedArgs& args);

struct Command {
  std::string_view name{};   // "create"; empty for a single command (`changes`)
  std::string_view usage{};  // the arguments after the name: "T col:type[!] ..."
  std::string_view summary{};
  std::string_view details{};  // further paragraphs for --help; may be empty
  std::span<const OptionSpec> options{};
  size_t min_args = 0;  // positional arguments
  size_t max_args = SIZE_MAX;
  int (*run)(Context& context, const ParsedArgs& args) = nullptr;
};

struct CommandGroup {
  std::string_view name;
  std::string_view summary;
  std::span<const Command> commands;  // a single command with an empty name: no subcommands

  bool single() const { return commands.size() == 1 && commands[0].name.empty(); }
};

// The global options (--db, --json, --durability, --log-level, --help, --version).
std::span<const OptionSpec> global_options();

// Runs `group` with the words after its name. `leading` are global options
// that came before the group's name. `path` is updated to the command being
// run ("outpost tables create") for the usage hint on errors.
int run_group(const CommandGroup& group, std::span<const std::string> leading,
              std::span<const std::string> args, std::string& path);

// The definition of `table`, or Error(unknown_table) naming it.
Table require_table(Engine& engine, const std::string& table);

// Scopes on the command line (cli_scope.cpp): `text` parsed against the
// tables of `engine` (Error(invalid_scope) otherwise), and the scope
// "T: CLAUSE" of a --where CLAUSE.
Scope parse_scope_for(Engine& engine, std::string_view text);
Scope parse_where(Engine& engine, const std::string& table, std::string_view clause);
// Lists the first few "table/id" of records that wait for a push before they
// can be purged (reconciler/scoping.h), on stdout.
void print_waiting(const std::vector<std::string>& waiting);

// The top-level help listing `groups`.
std::string top_level_help(std::span<const CommandGroup> groups);

// The command groups, defined in cli_<group>.cpp.
const CommandGroup& tables_commands();
const CommandGroup& records_commands();
const CommandGroup& changes_commands();
const CommandGroup& sync_commands();
const CommandGroup& bench_commands();
const CommandGroup& serve_commands();
const CommandGroup& tokens_commands();
const CommandGroup& peers_commands();
const CommandGroup& scope_commands();
const CommandGroup& check_commands();

}  // namespace outpost::cli
