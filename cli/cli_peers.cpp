// `outpost peers`: who synced with this database, up to which cursor and
// when, from the checkpoints replication leaves in its local documents
// (DESIGN.md section 12). On a hub, each device's entry names the token it
// synced with.
#include <iostream>

#include "cli/command.h"
#include "cli/output.h"
#include "reconciler/checkpoint.h"

namespace outpost::cli {

namespace {

int run_peers(Context& context, const ParsedArgs&) {
  auto engine = context.open();
  const std::string self = engine->db_id();
  std::vector<PeerCheckpoint> peers = peer_checkpoints(engine->list_local());
  if (context.json) {
    std::cout << peers_to_json(peers) << "\n";
    return 0;
  }
  if (peers.empty()) {
    std::cout << "(no peer has synced with this database)\n";
    return 0;
  }
  TextTable table({"token", "direction", "peer", "tables", "last_seq", "updated"});
  for (const PeerCheckpoint& p : peers) {
    const Checkpoint& c = p.checkpoint;
    // Which way the records went, whoever ran the sync: into this database
    // (it was the target) or out of it (it was the source).
    const bool into = c.target_db_id == self;
    const std::string& other = into ? c.source_db_id : c.target_db_id;
    const std::string tables = join(c.tables);
    table.add_row({p.token.empty() ? "-" : printable(p.token),
                   into ? "into here" : (c.source_db_id == self ? "out of here" : "elsewhere"),
                   printable(other), tables.empty() ? "(all)" : cell(tables), cell(c.last_seq),
                   printable(c.updated_at)});
  }
  table.print(std::cout);
  return 0;
}

const Command kCommands[] = {
    {.name = "",
     .usage = "",
     .summary = "list who synced with this database, up to where and when",
     .details =
         "One line per replication that saved its checkpoint here: the token it used\n"
         "(through a server with auth), whether records went into this database or\n"
         "out of it, the other database's db_id, the table filter, the cursor reached and\n"
         "when it was saved (the peer's clock), newest first.\n"
         "--json prints {\"peers\": [{\"token\", \"replication_id\", \"source\", \"target\",\n"
         "\"tables\", \"last_seq\", \"updated_at\"}]}.\n",
     .max_args = 0,
     .run = run_peers},
};

const CommandGroup kGroup{"peers", "list who synced with this database", kCommands};

}  // namespace

const CommandGroup& peers_commands() { return kGroup; }

}  // namespace outpost::cli
