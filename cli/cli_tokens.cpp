// `outpost tokens create|list|update|revoke`: the API tokens of a database
// (DESIGN.md sections 9 and 14), through Engine::tokens() — a local database
// or, for an admin token, a hub over HTTP. Secrets are printed once, at
// creation, and never again. JSON output uses the HTTP API's shapes
// (api/json.h: created_token_to_json, token_to_json, tokens_to_json).
#include <iostream>

#include "api/error.h"
#include "api/json.h"
#include "api/json_builder.h"
#include "cli/command.h"
#include "cli/output.h"
#include "utils/sha256.h"
#include "utils/time.h"

namespace outpost::cli {

namespace {

// How many hex digits of a fingerprint the text table shows.
constexpr size_t kFingerprintShown = 12;
constexpr int64_t kMaxSeconds = int64_t{100} * 365 * 86400;

TokenStore& store_of(Engine& engine) {
  TokenStore* tokens = engine.tokens();
  if (!tokens) throw Error(ErrorCode::unavailable, "this database does not hold API tokens");
  return *tokens;
}

std::string time_text(std::optional<int64_t> micros) {
  if (!micros) return "";
  try {
    return format_timestamp(*micros);
  } catch (const std::exception&) {
    return std::to_string(*micros);
  }
}

// The first digits of a scope's fingerprint; "-" without a scope.
std::string short_fingerprint(const std::string& scope) {
  return scope.empty() ? "-" : sha256_hex(scope).substr(0, kFingerprintShown);
}

// The token as stored (canonical scopes, creation time), found by name.
std::optional<Token> find_token(TokenStore& store, const std::string& name) {
  for (Token& t : store.list_tokens()) {
    if (t.name == name) return std::move(t);
  }
  return std::nullopt;
}

// A scope and its fingerprint, or what the table list alone means.
std::string scope_line(const std::string& scope, const std::vector<std::string>& tables) {
  if (!scope.empty()) {
    return printable(scope) + "  (fingerprint " + short_fingerprint(scope) + ")";
  }
  return tables.empty() ? "(none)" : "every record of " + printable(join(tables));
}

void print_token(const Token& t) {
  std::cout << "name:         " << printable(t.name) << "\n";
  if (t.admin) {
    std::cout << "admin:        yes (every table, table definitions, tokens)\n";
  } else {
    std::cout << "read scope:   " << scope_line(t.scope, t.read) << "\n";
    std::cout << "write scope:  " << scope_line(t.write_scope, t.write) << "\n";
  }
  for (const Token::EarlierScope& e : t.earlier_write_scopes) {
    std::cout << "earlier write scope until " << time_text(e.until_micros) << ": "
              << printable(e.scope) << "\n";
  }
  if (t.rescoped_at_micros != 0) {
    std::cout << "re-scoped:    " << time_text(t.rescoped_at_micros) << "\n";
  }
  std::cout << "created:      " << time_text(t.created_at_micros) << "\n";
  if (t.expires_at_micros) std::cout << "expires:      " << time_text(t.expires_at_micros) << "\n";
  if (t.revoked) std::cout << "revoked:      yes\n";
}

int run_create(Context& context, const ParsedArgs& args) {
  Token token;
  token.name = args.positionals[0];
  token.admin = args.has("admin");
  if (args.has("read") && args.has("scope")) {
    throw UsageError("give --read TABLES or --scope SCOPE, not both (a scope names its tables)");
  }
  if (args.has("write") && args.has("write-scope")) {
    throw UsageError(
        "give --write TABLES or --write-scope SCOPE, not both (a scope names its tables)");
  }
  token.read = split_list(args.get_or("read", ""));
  token.write = split_list(args.get_or("write", ""));
  token.scope = args.get_or("scope", "");
  token.write_scope = args.get_or("write-scope", "");
  if ((args.has("scope") && token.scope.empty()) ||
      (args.has("write-scope") && token.write_scope.empty())) {
    throw UsageError(
        "--scope and --write-scope take a scope, e.g. \"households: district = 'north'\"");
  }
  // A field worker writes what they read, unless told otherwise.
  if (!token.scope.empty() && !args.has("write") && !args.has("write-scope")) {
    token.write_scope = token.scope;
  }
  if (token.admin && (!token.scope.empty() || !token.write_scope.empty())) {
    throw UsageError("an --admin token may do everything and takes no --scope or --write-scope");
  }
  if (args.has("expires-in")) {
    int64_t seconds = args.get_int("expires-in", 0, 1, kMaxSeconds);
    token.expires_at_micros = now_micros() + seconds * 1'000'000;
  }
  if (!token.admin && token.read.empty() && token.write.empty() && token.scope.empty() &&
      token.write_scope.empty()) {
    throw UsageError(
        "a token needs --admin, --read TABLES, --scope SCOPE, --write TABLES or --write-scope "
        "SCOPE");
  }
  auto engine = context.open_local_or_remote(args);
  TokenStore& store = store_of(*engine);
  std::string secret = store.create_token(token);
  Token stored = find_token(store, token.name).value_or(token);
  if (context.json) {
    std::cout << created_token_to_json(stored, secret) << "\n";
  } else {
    std::cout << secret << "\n";
    std::cerr << "token '" << printable(token.name)
              << "' created; the secret above is shown only this once\n";
    if (!stored.admin && (!stored.scope.empty() || !stored.write_scope.empty())) {
      std::cerr << "read scope:  " << scope_line(stored.scope, stored.read) << "\n"
                << "write scope: " << scope_line(stored.write_scope, stored.write) << "\n";
    }
  }
  return 0;
}

int run_update(Context& context, const ParsedArgs& args) {
  const std::string& name = args.positionals[0];
  if (!args.has("scope") && !args.has("write-scope")) {
    throw UsageError("give --scope SCOPE, --write-scope SCOPE or both");
  }
  TokenUpdate update;
  if (args.has("scope")) update.scope = args.get_or("scope", "");
  if (args.has("write-scope")) update.write_scope = args.get_or("write-scope", "");
  if (args.has("grace")) {
    update.grace_micros = args.get_int("grace", 0, 0, kMaxSeconds) * 1'000'000;
  }
  auto engine = context.open_local_or_remote(args);
  Token token = store_of(*engine).update_token(name, update);
  if (context.json) {
    std::cout << token_to_json(token) << "\n";
  } else {
    print_token(token);
  }
  return 0;
}

int run_list(Context& context, const ParsedArgs& args) {
  auto engine = context.open_local_or_remote(args);
  std::vector<Token> tokens = store_of(*engine).list_tokens();
  if (context.json) {
    std::cout << tokens_to_json(tokens) << "\n";
    return 0;
  }
  if (tokens.empty()) {
    std::cout << "(no tokens)\n";
    return 0;
  }
  TextTable table(
      {"name", "admin", "read", "write", "scope", "write scope", "created", "expires", "revoked"});
  for (const Token& t : tokens) {
    table.add_row({printable(t.name), t.admin ? "yes" : "no", cell(join(t.read)),
                   cell(join(t.write)), short_fingerprint(t.scope),
                   short_fingerprint(t.write_scope), time_text(t.created_at_micros),
                   time_text(t.expires_at_micros), t.revoked ? "yes" : "no"});
  }
  table.print(std::cout);
  return 0;
}

int run_revoke(Context& context, const ParsedArgs& args) {
  auto engine = context.open_local_or_remote(args);
  const std::string& name = args.positionals[0];
  if (!store_of(*engine).revoke_token(name)) {
    throw Error(ErrorCode::not_found, "there is no token named '" + name + "'");
  }
  if (context.json) {
    JsonBuilder w;
    w.start_object();
    w.field("name", name);
    w.field_bool("revoked", true);
    w.end_object();
    std::cout << w.str() << "\n";
  } else {
    std::cout << "token '" << printable(name) << "' revoked\n";
  }
  return 0;
}

// Every subcommand also works on a server, with an admin token.
constexpr OptionSpec kRemoteOption = {
    "token", "T", "an admin token, for an http(s):// --db (default $OUTPOST_TOKEN)"};

constexpr OptionSpec kCreateOptions[] = {
    {"admin", "", "may do everything: every table, table definitions, tokens"},
    {"read", "a,b", "tables it may read, every record (records, feed, bulk_get)"},
    {"scope", "SCOPE", "the records it may read, e.g. \"households: district = 'north'\""},
    {"write", "a,b", "tables it may write, every record (records, bulk_docs)"},
    {"write-scope", "SCOPE", "the records it may write (default with --scope: the same)"},
    {"expires-in", "SECONDS", "the token stops working after this long"},
    kRemoteOption,
};

constexpr OptionSpec kUpdateOptions[] = {
    {"scope", "SCOPE", "the new read scope"},
    {"write-scope", "SCOPE", "the new write scope"},
    {"grace", "SECONDS",
     "how long edits made under the old write scope are still accepted from devices "
     "(default 90 days; 0: not at all)"},
    kRemoteOption,
};

constexpr OptionSpec kOtherOptions[] = {kRemoteOption};

const Command kCommands[] = {
    {.name = "create",
     .usage = "NAME [--admin] [--read a,b | --scope SCOPE] [--write a,b | --write-scope SCOPE] "
              "[--expires-in SECONDS]",
     .summary = "create a token and print its secret (shown only once)",
     .details = "NAME is 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'.\n"
                "A scope says which records of which tables (DESIGN.md section 14), e.g.\n"
                "  --scope \"households: district = 'north'; visits: district = 'north'\"\n"
                "With --scope and neither --write nor --write-scope, the token writes what it\n"
                "reads. --read and --write lists mean every record of those tables.\n"
                "--json prints the token as stored with its \"secret\".\n",
     .options = kCreateOptions,
     .min_args = 1,
     .max_args = 1,
     .run = run_create},
    {.name = "list",
     .usage = "",
     .summary = "list the tokens with their scope fingerprints (never their secrets)",
     .options = kOtherOptions,
     .max_args = 0,
     .run = run_list},
    {.name = "update",
     .usage = "NAME [--scope SCOPE] [--write-scope SCOPE] [--grace SECONDS]",
     .summary = "re-scope a token; its devices follow at their next sync",
     .details = "A new --scope without --write-scope moves the write scope along when it was\n"
                "the same as the read scope. The old write scope is still honoured for edits\n"
                "devices made before the move, for --grace SECONDS.\n",
     .options = kUpdateOptions,
     .min_args = 1,
     .max_args = 1,
     .run = run_update},
    {.name = "revoke",
     .usage = "NAME",
     .summary = "revoke a token: it stops working at once",
     .options = kOtherOptions,
     .min_args = 1,
     .max_args = 1,
     .run = run_revoke},
};

const CommandGroup kGroup{"tokens", "manage API tokens (create, list, update, revoke)", kCommands};

}  // namespace

const CommandGroup& tokens_commands() { return kGroup; }

}  // namespace outpost::cli
