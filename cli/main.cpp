// The `outpost` command: the table of command groups, and the one place where
// every failure becomes an exit status and one line on stderr:
//   outpost::Error       "error: <code>: <message>", exit 1 (with --json the
//                        {"error","message"} object is also printed on stdout)
//   UsageError           "error: <message>" and a hint to --help, exit 2
//   anything else        "error: internal: <what>", exit 1
//   SIGBUS in SQLite's   "error: disk_full: the disk holding <db> is full: ...",
//   shared memory        exit 1 (engine/sqlite/sqlite_vfs.h)
#include <algorithm>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "api/error.h"
#include "api/json.h"
#include "cli/command.h"
#include "cli/output.h"
#include "engine/sqlite/sqlite_vfs.h"
#include "utils/log.h"

namespace {

using outpost::cli::CommandGroup;

// The command groups, in the order --help lists them.
std::vector<CommandGroup> command_table() {
  return {outpost::cli::tables_commands(),  outpost::cli::records_commands(),
          outpost::cli::changes_commands(), outpost::cli::sync_commands(),
          outpost::cli::serve_commands(),   outpost::cli::tokens_commands(),
          outpost::cli::peers_commands(),   outpost::cli::scope_commands(),
          outpost::cli::check_commands(),   outpost::cli::bench_commands()};
}

int run(const std::vector<std::string>& argv, std::string& path) {
  using namespace outpost::cli;
  const std::vector<CommandGroup> groups = command_table();

  ParseResult global = parse_args(argv, {global_options()}, {.stop_at_positional = true});
  if (global.rest.empty()) {
    if (global.args.has("version")) {
      std::cout << "outpost " << kVersion << "\n";
      return 0;
    }
    if (global.args.has("help")) {
      std::cout << top_level_help(groups);
      return 0;
    }
    throw UsageError("no command given (tables, records, changes, sync, scope, bench)");
  }
  auto found = std::find_if(groups.begin(), groups.end(), [&](const CommandGroup& group) {
    return group.name == global.rest[0];
  });
  if (found == groups.end()) throw UsageError("'" + global.rest[0] + "' is not an outpost command");
  std::span<const std::string> all(argv);
  return run_group(*found, all.first(argv.size() - global.rest.size()),
                   std::span<const std::string>(global.rest).subspan(1), path);
}

bool wants_json(const std::vector<std::string>& argv) {
  // Only to choose the error format; a "--json" after "--" is an argument.
  for (const std::string& arg : argv) {
    if (arg == "--") return false;
    if (arg == "--json") return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  // A full disk can fault a store into SQLite's mapped -shm file: say so in
  // one line instead of dying silently.
  outpost::install_sqlite_fault_handler();
  outpost::set_log_level(outpost::LogLevel::warn);
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string path = "outpost";
  try {
    return run(args, path);
  } catch (const outpost::cli::UsageError& e) {
    std::cerr << "error: " << outpost::cli::printable(e.what()) << "\n(see '" << path
              << " --help')\n";
    return 2;
  } catch (const outpost::Error& e) {
    std::cout.flush();
    if (wants_json(args)) std::cout << outpost::error_to_json(e) << "\n";
    std::cerr << "error: " << e.code_name() << ": " << outpost::cli::printable(e.what()) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: internal: " << outpost::cli::printable(e.what()) << "\n";
    return 1;
  }
}
