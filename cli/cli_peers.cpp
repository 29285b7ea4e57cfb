// `outpost peers`: who synced with this database, up to which cursor and
// when, from the checkpoints replication leaves in its local documents
// (DESIGN.md section 12). On a hub, each device's entry names the token it
// synced with, and each token shows whether its devices have caught up with
// its current scope (DESIGN.md section 14). With an http(s):// --db, the
// server's GET /v1/peers (an admin token) says the same.
#include <cstdlib>
#include <iostream>

#include "api/checkpoint.h"
#include "api/error.h"
#include "api/json_builder.h"
#include "cli/command.h"
#include "cli/output.h"
#include "client/http_engine.h"
#include "client/url.h"
#include "reconciler/checkpoint.h"

namespace outpost::cli {

namespace {

// What the command shows, read from a database or from a server.
struct Report {
  std::string self;  // this database's db_id
  std::vector<PeerCheckpoint> peers;
  std::vector<TokenPeers> tokens;
};

std::string short_fingerprint(const std::string& fingerprint) {
  return fingerprint.empty() ? "(none)" : fingerprint.substr(0, 12);
}

// The "peers" of a peers_report_to_json text.
std::vector<PeerCheckpoint> peers_from_json(std::string_view text) {
  std::vector<PeerCheckpoint> out;
  std::optional<JsonDoc> doc = JsonDoc::parse(text);
  if (!doc) return out;
  std::optional<JsonNode> list = doc->root().member("peers");
  if (!list) return out;
  for (const JsonNode& item : list->items()) {
    auto text_of = [&](std::string_view name) {
      std::optional<JsonNode> v = item.member(name);
      return v ? v->string() : std::string();
    };
    PeerCheckpoint p;
    p.token = text_of("token");
    p.replication_id = text_of("replication_id");
    p.checkpoint.source_db_id = text_of("source");
    p.checkpoint.target_db_id = text_of("target");
    if (std::optional<JsonNode> tables = item.member("tables")) {
      for (const JsonNode& t : tables->items()) p.checkpoint.tables.push_back(t.string());
    }
    p.checkpoint.last_seq = text_of("last_seq");
    p.checkpoint.updated_at = text_of("updated_at");
    p.checkpoint.copied_scope_fingerprint = text_of("scope_fingerprint");
    out.push_back(std::move(p));
  }
  return out;
}

void print_peers(const Report& report) {
  if (report.peers.empty()) {
    std::cout << "(no peer has synced with this database)\n";
    return;
  }
  TextTable table({"token", "direction", "peer", "tables", "scope", "last_seq", "updated"});
  for (const PeerCheckpoint& p : report.peers) {
    const Checkpoint& c = p.checkpoint;
    // Which way the records went, whoever ran the sync: into this database
    // (it was the target) or out of it (it was the source).
    const bool into = c.target_db_id == report.self;
    const std::string& other = into ? c.source_db_id : c.target_db_id;
    const std::string tables = join(c.tables);
    const std::string scope = synced_scope_fingerprint(c);
    table.add_row(
        {p.token.empty() ? "-" : printable(p.token),
         into ? "into here" : (c.source_db_id == report.self ? "out of here" : "elsewhere"),
         printable(other), tables.empty() ? "(all)" : cell(tables),
         scope.empty() ? "(all)" : printable(scope.substr(0, 12)), cell(c.last_seq),
         printable(c.updated_at)});
  }
  table.print(std::cout);
}

void print_tokens(const Report& report) {
  if (report.tokens.empty()) return;
  std::cout << "\n";
  TextTable table({"token", "scope", "device", "synced under", "caught up", "updated"});
  for (const TokenPeers& t : report.tokens) {
    const std::string scope = printable(short_fingerprint(t.scope_fingerprint));
    if (t.devices.empty()) {
      table.add_row({printable(t.name), scope, "-", "-", "-", "-"});
      continue;
    }
    for (const TokenDevice& d : t.devices) {
      table.add_row({printable(t.name), scope, printable(d.db_id),
                     printable(short_fingerprint(d.synced_scope_fingerprint)),
                     d.caught_up ? "yes" : "no", printable(d.updated_at)});
    }
  }
  table.print(std::cout);
}

int run_peers(Context& context, const ParsedArgs& args) {
  const std::string url = context.effective_db_url();
  Report report;
  if (is_http_url(url)) {
    std::unique_ptr<HttpEngine> server = open_http_engine(url, http_client_options(args));
    const std::string text = server->request("GET", "/v1/peers");
    if (context.json) {
      std::cout << text << "\n";
      return 0;
    }
    report.self = server->db_id();
    report.peers = peers_from_json(text);
    // A server that lists no tokens (an older one) shows its peers alone.
    report.tokens = token_peers_from_json(text).value_or(std::vector<TokenPeers>{});
  } else {
    if (args.has("token")) throw UsageError("--token applies only to an http(s):// --db");
    auto engine = context.open();
    report.self = engine->db_id();
    report.peers = peer_checkpoints(engine->list_local());
    std::vector<Token> tokens;
    if (TokenStore* store = engine->tokens()) tokens = store->list_tokens();
    if (context.json) {
      std::cout << peers_report_to_json(report.self, report.peers, tokens) << "\n";
      return 0;
    }
    report.tokens = token_peers(report.self, report.peers, tokens);
  }
  print_peers(report);
  print_tokens(report);
  return 0;
}

constexpr OptionSpec kOptions[] = {
    {"token", "T", "an admin token for an http(s):// --db (default $OUTPOST_TOKEN)"},
};

const Command kCommands[] = {
    {.name = "",
     .usage = "[--token T]",
     .summary = "list who synced with this database, and whether each token's devices caught up",
     .details =
         "One line per replication that saved its checkpoint here: the token it used\n"
         "(through a server with auth), whether records went into this database or\n"
         "out of it, the other database's db_id, the table filter, the scope it copied\n"
         "(12 hex digits of its fingerprint), the cursor reached and when it was saved\n"
         "(the peer's clock), newest first.\n"
         "Then, per API token: its read scope's fingerprint, each device that pulled\n"
         "from here with it, the scope fingerprint it last synced under, and whether it\n"
         "has caught up: its newest pull ran under the token's current scope, finished\n"
         "its first pass over it, and was saved after the token's last re-scope.\n"
         "--db http(s)://HOST:PORT asks a server (GET /v1/peers, an admin token).\n"
         "--json prints {\"peers\": [{\"token\", \"replication_id\", \"source\", \"target\",\n"
         "\"tables\", \"last_seq\", \"updated_at\", \"scope_fingerprint\"}], \"tokens\":\n"
         "[{\"name\", \"scope_fingerprint\", \"rescoped_at\", \"devices\": [{\"db_id\",\n"
         "\"synced_scope_fingerprint\", \"updated_at\", \"caught_up\"}]}]}.\n",
     .options = kOptions,
     .max_args = 0,
     .run = run_peers},
};

const CommandGroup kGroup{"peers", "list who synced with this database", kCommands};

}  // namespace

const CommandGroup& peers_commands() { return kGroup; }

}  // namespace outpost::cli
