// The single-edit convenience wrappers declared in api/engine.h.
#include "api/engine.h"

#include "api/error.h"

namespace outpost {

std::vector<std::pair<std::string, std::string>> Engine::list_local() {
  throw Error(ErrorCode::internal, "this database cannot list its local documents");
}

namespace {

[[noreturn]] void not_from_here(const char* what) {
  throw Error(ErrorCode::internal,
              std::string("this database cannot ") + what + " from here (open it directly)");
}

}  // namespace

Traffic& Traffic::operator+=(const Traffic& other) {
  requests += other.requests;
  round_trips += other.round_trips;
  wire_bytes += other.wire_bytes;
  plain_bytes += other.plain_bytes;
  return *this;
}

Traffic Traffic::operator-(const Traffic& earlier) const {
  return {requests - earlier.requests, round_trips - earlier.round_trips,
          wire_bytes - earlier.wire_bytes, plain_bytes - earlier.plain_bytes};
}

Overview Engine::overview() {
  Overview o;
  o.db_id = db_id();
  o.tables = list_tables();
  o.scope = scope();
  o.token_scope = token_scope();
  o.token_write_scope = token_write_scope();
  return o;
}

WrittenAndSaved Engine::write_replicated_then_save(const std::vector<RemoteRevision>& revisions,
                                                   const std::string& id, const std::string& json) {
  WrittenAndSaved out;
  out.results = write_replicated(revisions);
  for (const WriteResult& r : out.results) {
    if (!r.ok()) return out;
  }
  put_local(id, json);
  out.saved = true;
  return out;
}

std::optional<Scope> Engine::scope() { return std::nullopt; }
std::optional<Scope> Engine::token_scope() { return std::nullopt; }
std::optional<Scope> Engine::token_write_scope() { return std::nullopt; }
std::vector<WriteResult> Engine::write_within(const std::vector<Edit>&, const WriteScope&) {
  not_from_here("check a writer's scope");
}
std::vector<WriteResult> Engine::write_replicated_within(const std::vector<RemoteRevision>&,
                                                         const WriteScope&) {
  not_from_here("check a writer's scope");
}
void Engine::set_scope(const std::optional<Scope>&) { not_from_here("change its scope"); }
void Engine::prepare_scope(const Scope&) { not_from_here("create scope indexes"); }
std::vector<std::string> Engine::scope_indexes(const std::string&) {
  not_from_here("list its scope indexes");
}
IdPage Engine::record_ids(const std::string&, const RecordSelection&, const std::string&, size_t) {
  not_from_here("list record ids by scope");
}
PurgeResult Engine::purge(const PurgeRequest&) { not_from_here("purge records"); }
std::vector<PurgeLogEntry> Engine::purge_log(size_t, size_t) {
  not_from_here("show its purge log");
}

std::vector<TableCounts> Engine::table_counts() { not_from_here("count its records"); }
TableCounts Engine::count_in_scope(const std::string&, const ScopeClause&) {
  not_from_here("count its records");
}
ScopeChangeCounts Engine::scope_change_counts(const std::string&, const ScopeClause*,
                                              const ScopeClause*) {
  not_from_here("count its records");
}
std::vector<RevisionNode> Engine::revision_tree(const std::string&, const std::string&,
                                                const Scope*) {
  not_from_here("show a revision tree");
}

namespace {

WriteResult write_one(Engine& engine, Edit edit) {
  std::vector<WriteResult> results = engine.write({std::move(edit)});
  if (results.size() != 1) {
    throw Error(ErrorCode::internal, "Engine::write returned " + std::to_string(results.size()) +
                                         " results for one edit");
  }
  if (results[0].error) throw *results[0].error;
  return std::move(results[0]);
}

}  // namespace

WriteResult put_record(Engine& engine, const std::string& table, const std::string& id,
                       const Revision& parent, const Attributes& attributes) {
  Edit edit;
  edit.kind = Edit::Kind::put;
  edit.table = table;
  edit.id = id;
  edit.parent = parent;
  edit.attributes = attributes;
  return write_one(engine, std::move(edit));
}

WriteResult delete_record(Engine& engine, const std::string& table, const std::string& id,
                          const Revision& parent) {
  Edit edit;
  edit.kind = Edit::Kind::remove;
  edit.table = table;
  edit.id = id;
  edit.parent = parent;
  return write_one(engine, std::move(edit));
}

WriteResult resolve_record(Engine& engine, const std::string& table, const std::string& id,
                           const Revision& leaf, const Attributes& attributes) {
  Edit edit;
  edit.kind = Edit::Kind::resolve;
  edit.table = table;
  edit.id = id;
  edit.parent = leaf;
  edit.attributes = attributes;
  return write_one(engine, std::move(edit));
}

}  // namespace outpost
