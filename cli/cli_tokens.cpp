// `outpost tokens create|list|revoke`: the API tokens of a local database
// (DESIGN.md section 9), through Engine::tokens(). Secrets are printed once,
// at creation, and never again.
#include <iostream>

#include "api/error.h"
#include "cli/command.h"
#include "cli/output.h"
#include "utils/time.h"

namespace outpost::cli {

namespace {

TokenStore& store_of(Engine& engine) {
  TokenStore* tokens = engine.tokens();
  if (!tokens) throw Error(ErrorCode::unavailable, "this database does not hold API tokens");
  return *tokens;
}

// Token names, table names and secrets are plain ASCII without quotes or
// backslashes (their rules guarantee it); escape anyway.
std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string json_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + json_string(items[i]);
  return out + "]";
}

int run_create(Context& context, const ParsedArgs& args) {
  Token token;
  token.name = args.positionals[0];
  token.admin = args.has("admin");
  token.read = split_list(args.get_or("read", ""));
  token.write = split_list(args.get_or("write", ""));
  if (args.has("expires-in")) {
    int64_t seconds = args.get_int("expires-in", 0, 1, int64_t{100} * 365 * 86400);
    token.expires_at_micros = now_micros() + seconds * 1'000'000;
  }
  if (!token.admin && token.read.empty() && token.write.empty()) {
    throw UsageError("a token needs --admin, --read TABLES or --write TABLES");
  }
  auto engine = context.open();
  std::string secret = store_of(*engine).create_token(token);
  if (context.json) {
    std::cout << "{\"name\":" << json_string(token.name) << ",\"token\":" << json_string(secret)
              << "}\n";
  } else {
    std::cout << secret << "\n";
    std::cerr << "token '" << printable(token.name)
              << "' created; the secret above is shown only this once\n";
  }
  return 0;
}

int run_list(Context& context, const ParsedArgs&) {
  auto engine = context.open();
  std::vector<Token> tokens = store_of(*engine).list_tokens();
  auto time_text = [](std::optional<int64_t> micros) -> std::string {
    if (!micros) return "";
    try {
      return format_timestamp(*micros);
    } catch (const std::exception&) {
      return std::to_string(*micros);
    }
  };
  if (context.json) {
    std::string out = "{\"tokens\":[";
    for (size_t i = 0; i < tokens.size(); ++i) {
      const Token& t = tokens[i];
      out += std::string(i ? "," : "") + "{\"name\":" + json_string(t.name) +
             ",\"admin\":" + (t.admin ? "true" : "false") + ",\"read\":" + json_list(t.read) +
             ",\"write\":" + json_list(t.write) +
             ",\"created_at\":" + json_string(time_text(t.created_at_micros)) + ",\"expires_at\":" +
             (t.expires_at_micros ? json_string(time_text(t.expires_at_micros)) : "null") +
             ",\"revoked\":" + (t.revoked ? "true" : "false") + "}";
    }
    std::cout << out << "]}\n";
    return 0;
  }
  if (tokens.empty()) {
    std::cout << "(no tokens)\n";
    return 0;
  }
  TextTable table({"name", "admin", "read", "write", "created", "expires", "revoked"});
  for (const Token& t : tokens) {
    table.add_row({printable(t.name), t.admin ? "yes" : "no", cell(join(t.read)),
                   cell(join(t.write)), time_text(t.created_at_micros),
                   time_text(t.expires_at_micros), t.revoked ? "yes" : "no"});
  }
  table.print(std::cout);
  return 0;
}

int run_revoke(Context& context, const ParsedArgs& args) {
  auto engine = context.open();
  const std::string& name = args.positionals[0];
  if (!store_of(*engine).revoke_token(name)) {
    throw Error(ErrorCode::not_found, "there is no token named '" + name + "'");
  }
  if (context.json) {
    std::cout << "{\"name\":" << json_string(name) << ",\"revoked\":true}\n";
  } else {
    std::cout << "token '" << printable(name) << "' revoked\n";
  }
  return 0;
}

constexpr OptionSpec kCreateOptions[] = {
    {"admin", "", "may do everything: every table, table definitions, tokens"},
    {"read", "a,b", "tables it may read (records, feed, bulk_get)"},
    {"write", "a,b", "tables it may write (records, bulk_docs)"},
    {"expires-in", "SECONDS", "the token stops working after this long"},
};

const Command kCommands[] = {
    {.name = "create",
     .usage = "NAME [--admin] [--read a,b] [--write a,b] [--expires-in SECONDS]",
     .summary = "create a token and print its secret (shown only once)",
     .details = "NAME is 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'.\n"
                "--json prints {\"name\", \"token\"}.\n",
     .options = kCreateOptions,
     .min_args = 1,
     .max_args = 1,
     .run = run_create},
    {.name = "list",
     .usage = "",
     .summary = "list the tokens (never their secrets)",
     .max_args = 0,
     .run = run_list},
    {.name = "revoke",
     .usage = "NAME",
     .summary = "revoke a token: it stops working at once",
     .min_args = 1,
     .max_args = 1,
     .run = run_revoke},
};

const CommandGroup kGroup{"tokens", "manage API tokens (create, list, revoke)", kCommands};

}  // namespace

const CommandGroup& tokens_commands() { return kGroup; }

}  // namespace outpost::cli
