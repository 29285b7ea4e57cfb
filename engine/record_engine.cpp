#include "engine/record_engine.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <unordered_map>

#include "engine/rev_tree.h"
#include "utils/backoff.h"
#include "utils/log.h"
#include "utils/utf8.h"
#include "utils/uuid.h"

namespace outpost {

namespace {

constexpr auto kExternalPollInterval = std::chrono::milliseconds(250);
constexpr int kMaxAttempts = 12;
// Errors that belong to one document of a batch; anything else (storage
// failures) aborts the whole transaction.
bool is_document_error(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_value:
    case ErrorCode::invalid_name:
    case ErrorCode::unknown_column:
    case ErrorCode::missing_required:
    case ErrorCode::invalid_revision:
    case ErrorCode::forbidden:
    case ErrorCode::not_found:
    case ErrorCode::unknown_table:
    case ErrorCode::conflict:
    case ErrorCode::schema_conflict:
      return true;
    default:
      return false;
  }
}

std::string column_list(const Table& table) {
  if (table.columns.empty()) return "(none)";
  std::string out;
  for (const Column& c : table.columns) {
    if (!out.empty()) out += ", ";
    out += c.name;
  }
  return out;
}

// Checks attributes against the table's columns; `require` also checks that
// every required column is present.
void check_attributes(const Table& table, const Attributes& attributes, bool require) {
  for (const auto& [name, value] : attributes) {
    const Column* column = table.find_column(name);
    if (column == nullptr) {
      throw Error(ErrorCode::unknown_column, "table " + table.name + " has no column " +
                                                 quote_for_message(name) + "; its columns are " +
                                                 column_list(table));
    }
    if (column->type != value.type()) {
      throw Error(ErrorCode::invalid_value,
                  "attribute " + quote_for_message(name) + " of table " + table.name +
                      " is of type " + std::string(value_type_name(column->type)) + ", got a " +
                      std::string(value_type_name(value.type())) + " value");
    }
  }
  if (!require) return;
  for (const Column& column : table.columns) {
    if (column.required && !attributes.contains(column.name)) {
      throw Error(ErrorCode::missing_required,
                  "table " + table.name + " requires attribute " + quote_for_message(column.name));
    }
  }
}

// Whether a deletion's parent body, sent along (RemoteRevision::
// parent_attributes), is the body of its parent revision: valid for the
// table and hashing, with `grandparent`, to ancestry[0].

}  // namespace

bool RecordEngine::parent_body_fits(const Table& table, const RemoteRevision& remote,
                                    const Revision& grandparent) {
  if (!remote.parent_attributes || remote.ancestry.empty()) return false;
  try {
    check_attributes(table, *remote.parent_attributes, false);
  } catch (const Error&) {
    return false;
  }
  return compute_revision(table.name, remote.id, grandparent, false, *remote.parent_attributes) ==
         remote.ancestry.front();
}

// What one document of a batch will change: nodes to insert (parents first),
// nodes that stop being leaves, and the leaves afterwards.
struct RecordEngine::Plan {
  const Table* table = nullptr;
  std::string id;
  Revision result;
  bool noop = false;  // already present: nothing to write
  std::vector<std::pair<Node, Attributes>> inserts;
  std::vector<Revision> unleaf;
  std::vector<Node> leaves;
  int64_t previous_seq = 0;  // the record's feed position before this write
  bool was_deleted = false;  // the record's winner was deleted before this write
};

RecordEngine::RecordEngine(std::unique_ptr<Storage> storage, const OpenOptions& options)
    : storage_(std::move(storage)), options_(options) {
  storage_->set_external_change_listener([this] { notify_commit(); });
}

RecordEngine::~RecordEngine() { storage_->set_external_change_listener(nullptr); }

void RecordEngine::run_with_retry(const std::function<void()>& body) {
  Backoff backoff(std::chrono::milliseconds(2), std::chrono::milliseconds(250), kMaxAttempts);
  for (;;) {
    backoff.next_attempt();
    try {
      body();
      return;
    } catch (const RetryableError& e) {
      if (backoff.attempts() >= kMaxAttempts) {
        ++database_errors_;
        throw;
      }
      ++retries_;
      log_debug("engine", "retrying a transaction",
                {{"attempt", std::to_string(backoff.attempts())}, {"reason", e.what()}});
      backoff.wait();
    } catch (const Error& e) {
      if (e.code() == ErrorCode::unavailable || e.code() == ErrorCode::internal ||
          e.code() == ErrorCode::disk_full) {
        ++database_errors_;
      }
      throw;
    }
  }
}

EngineStats RecordEngine::stats() {
  EngineStats s;
  s.transaction_retries = retries_.load();
  s.database_errors = database_errors_.load();
  return s;
}

std::string RecordEngine::db_id() { return storage_->db_id(); }

std::string RecordEngine::backend() { return storage_->backend(); }

std::string RecordEngine::update_seq() {
  return with_retry([&] {
    auto txn = storage_->begin(TransactionKind::read);
    return storage_->last_cursor(*txn);
  });
}

// ---------------------------------------------------------------- tables

std::shared_ptr<const RecordEngine::Catalog> RecordEngine::catalog(Transaction& txn) {
  int64_t version = storage_->catalog_version(txn);
  {
    std::lock_guard lock(catalog_mu_);
    if (catalog_ && version == catalog_version_) return catalog_;
  }
  auto fresh = std::make_shared<Catalog>();
  for (Table& t : storage_->load_tables(txn)) {
    std::string name = t.name;
    fresh->emplace(std::move(name), std::move(t));
  }
  std::lock_guard lock(catalog_mu_);
  catalog_ = fresh;
  catalog_version_ = version;
  return catalog_;
}

const Table& RecordEngine::table_in(const Catalog& catalog, std::string_view name) const {
  auto it = catalog.find(name);
  if (it == catalog.end()) {
    validate_table_name(name);  // a hostile name is invalid_name, not unknown_table
    throw Error(ErrorCode::unknown_table, "no table named " + quote_for_message(name));
  }
  return it->second;
}

std::vector<Table> RecordEngine::list_tables() {
  return with_retry([&] {
    auto txn = storage_->begin(TransactionKind::read);
    auto cat = catalog(*txn);
    std::vector<Table> out;
    for (const auto& [name, table] : *cat) out.push_back(table);
    return out;
  });
}

std::optional<Table> RecordEngine::get_table(const std::string& name) {
  return with_retry([&]() -> std::optional<Table> {
    auto txn = storage_->begin(TransactionKind::read);
    auto cat = catalog(*txn);
    auto it = cat->find(name);
    if (it == cat->end()) return std::nullopt;
    return it->second;
  });
}

Table RecordEngine::put_table(const Table& table) {
  return with_retry([&]() -> Table {
    validate_table(table);
    auto txn = storage_->begin(TransactionKind::write);
    auto cat = catalog(*txn);
    auto it = cat->find(table.name);
    Table result;
    if (it == cat->end()) {
      storage_->create_table(*txn, table);
      result = table;
    } else {
      result = merge_tables(it->second, table);
      std::vector<Column> added;
      for (const Column& c : result.columns) {
        if (it->second.find_column(c.name) == nullptr) added.push_back(c);
      }
      if (added.empty()) return it->second;
      storage_->add_columns(*txn, result, added);
    }
    txn->commit();
    return result;
  });
}

// ---------------------------------------------------------------- writes

RecordEngine::Plan RecordEngine::plan_edit(Transaction& txn, const Catalog& cat, const Edit& edit) {
  Plan plan;
  plan.table = &table_in(cat, edit.table);
  const Table& table = *plan.table;
  plan.id = edit.id;  // write() has named every create
  if (plan.id.empty()) {
    throw Error(ErrorCode::invalid_name, "an update, delete or resolve needs a record id");
  }
  validate_record_id(plan.id);
  bool deleted = edit.kind == Edit::Kind::remove;
  if (deleted && !edit.attributes.empty()) {
    throw Error(ErrorCode::invalid_value, "a delete carries no attributes");
  }
  check_attributes(table, edit.attributes, !deleted);

  storage_->lock_record(txn, table, plan.id);
  std::vector<Node> leaves = storage_->leaves(txn, table, plan.id);
  plan.previous_seq = newest_seq(leaves);
  plan.was_deleted = !leaves.empty() && pick_winner(leaves).deleted;
  Revision parent;
  try {
    parent = attach_point(leaves, edit.parent, edit.kind, table.name, plan.id);
  } catch (const Error&) {
    // Idempotent replay: the same edit from the same parent already exists.
    Revision again = compute_revision(table.name, plan.id, edit.parent, deleted, edit.attributes);
    if (!leaves.empty() && storage_->find_node(txn, table, plan.id, again)) {
      plan.result = again;
      plan.noop = true;
      return plan;
    }
    throw;
  }

  Node node;
  node.revision = compute_revision(table.name, plan.id, parent, deleted, edit.attributes);
  node.parent = parent;
  node.deleted = deleted;
  node.leaf = true;
  plan.result = node.revision;
  plan.leaves = with_new_leaf(leaves, node);
  if (!parent.empty()) plan.unleaf.push_back(parent);
  plan.inserts.emplace_back(node, edit.attributes);

  if (edit.kind == Edit::Kind::resolve) {
    for (const Node& other : leaves) {
      if (other.deleted || other.revision == parent) continue;
      Node tomb;
      tomb.revision = compute_revision(table.name, plan.id, other.revision, true, {});
      tomb.parent = other.revision;
      tomb.deleted = true;
      tomb.leaf = true;
      plan.leaves = with_new_leaf(std::move(plan.leaves), tomb);
      plan.unleaf.push_back(other.revision);
      plan.inserts.emplace_back(tomb, Attributes{});
    }
  }
  return plan;
}

RecordEngine::Plan RecordEngine::plan_remote(Transaction& txn, const Catalog& cat,
                                             const RemoteRevision& remote) {
  Plan plan;
  plan.table = &table_in(cat, remote.table);
  const Table& table = *plan.table;
  plan.id = remote.id;
  plan.result = remote.revision;
  validate_record_id(remote.id);
  check_remote_shape(remote);
  check_attributes(table, remote.attributes, false);

  Revision parent = remote.ancestry.empty() ? Revision() : remote.ancestry.front();
  Revision expected =
      compute_revision(table.name, remote.id, parent, remote.deleted, remote.attributes);
  if (expected != remote.revision) {
    throw Error(ErrorCode::invalid_revision,
                "record " + table.name + "/" + remote.id + ": revision " + remote.revision.str() +
                    " does not match its content and parent (expected " + expected.str() + ")");
  }
  storage_->lock_record(txn, table, remote.id);
  if (storage_->find_node(txn, table, remote.id, remote.revision)) {
    plan.noop = true;  // existing nodes are never overwritten
    return plan;
  }

  std::vector<Node> leaves = storage_->leaves(txn, table, remote.id);
  plan.previous_seq = newest_seq(leaves);
  plan.was_deleted = !leaves.empty() && pick_winner(leaves).deleted;
  // Graft: walk the ancestry until a node this database knows. The first
  // ancestors are looked up one by one (the known one is usually near); a
  // path that goes on (a record edited many times offline) reads the
  // record's whole tree once and looks the rest up there.
  std::unordered_map<std::string_view, const Node*> tree_index;
  std::vector<Node> tree;
  bool tree_read = false;
  auto lookup = [&](size_t i, const Revision& revision) -> std::optional<Node> {
    if (std::optional<Node> leaf = find_in(leaves, revision)) return leaf;
    if (i < kNodeByNodeLookups) return storage_->find_node(txn, table, remote.id, revision);
    if (!tree_read) {
      tree = storage_->all_nodes(txn, table, remote.id);
      for (const Node& n : tree) tree_index.emplace(n.revision.str(), &n);
      tree_read = true;
    }
    auto it = tree_index.find(revision.str());
    if (it == tree_index.end()) return std::nullopt;
    return *it->second;
  };
  std::vector<std::pair<Node, Attributes>> stubs;
  for (size_t i = 0; i < remote.ancestry.size(); ++i) {
    const Revision& ancestor = remote.ancestry[i];
    std::optional<Node> known = lookup(i, ancestor);
    if (known) {
      if (known->leaf) {
        plan.unleaf.push_back(ancestor);
        std::erase_if(leaves, [&](const Node& n) { return n.revision == ancestor; });
      }
      break;
    }
    Node stub;
    stub.revision = ancestor;
    stub.parent = i + 1 < remote.ancestry.size() ? remote.ancestry[i + 1] : Revision();
    stub.stub = true;
    Attributes body;
    if (i == 0 && parent_body_fits(table, remote, stub.parent)) {
      // A deletion's parent, sent with its body: the record's last body.
      stub.stub = false;
      body = *remote.parent_attributes;
    }
    stubs.emplace_back(std::move(stub), std::move(body));
  }
  for (auto it = stubs.rbegin(); it != stubs.rend(); ++it) plan.inserts.push_back(*it);
  Node node;
  node.revision = remote.revision;
  node.parent = parent;
  node.deleted = remote.deleted;
  node.leaf = true;
  plan.leaves = with_new_leaf(std::move(leaves), node);
  plan.inserts.emplace_back(node, remote.attributes);
  return plan;
}

void RecordEngine::apply(Transaction& txn, const Plan& plan) {
  if (plan.noop) return;
  const Table& table = *plan.table;
  const Node& winner = pick_winner(plan.leaves);
  ChangeRow change{
      table.name,       plan.id, winner.revision, winner.deleted, leaf_revisions(plan.leaves),
      plan.previous_seq};
  int64_t seq = storage_->append_change(txn, change);
  for (const auto& [node, body] : plan.inserts) {
    storage_->insert_node(txn, table, plan.id, node, body, seq);
  }
  for (const Revision& r : plan.unleaf) storage_->set_leaf(txn, table, plan.id, r, false);
  if (winner.deleted) {
    storage_->remove_winner(txn, table, plan.id);
    storage_->put_tombstone(txn, table, plan.id, winner, last_body(txn, plan, winner), seq);
    return;
  }
  if (plan.was_deleted) storage_->remove_tombstone(txn, table, plan.id);
  bool conflicted = !conflicts_of(plan.leaves).empty();
  for (const auto& [node, body] : plan.inserts) {
    if (node.revision == winner.revision) {
      storage_->put_winner(txn, table, plan.id, winner, body, conflicted, seq);
      return;
    }
  }
  std::optional<Attributes> body = storage_->body(txn, table, plan.id, winner.revision);
  if (!body) {
    throw Error(ErrorCode::internal, "record " + table.name + "/" + plan.id +
                                         ": the winning revision " + winner.revision.str() +
                                         " has no body");
  }
  storage_->put_winner(txn, table, plan.id, winner, *body, conflicted, seq);
}

std::optional<Attributes> RecordEngine::last_body(Transaction& txn, const Plan& plan,
                                                  const Node& tombstone) {
  const Table& table = *plan.table;
  Revision at = tombstone.parent;
  for (int step = 0; step < kLastBodySteps && !at.empty(); ++step) {
    std::optional<Node> node;
    const Attributes* body = nullptr;
    for (const auto& [n, b] : plan.inserts) {
      if (n.revision == at) node = n, body = &b;
    }
    if (!node) node = storage_->find_node(txn, table, plan.id, at);
    if (!node || node->stub) return std::nullopt;
    if (!node->deleted) return body ? *body : storage_->body(txn, table, plan.id, at);
    at = node->parent;
  }
  return std::nullopt;
}

namespace {

// Tells the storage which records a batch is about to lock and read, per
// table (documents with an unknown table or an invalid id are left out; they
// fail on their own later).
template <typename Doc, typename CatalogT>
void prefetch_batch(Storage& storage, Transaction& txn, const CatalogT& catalog,
                    const std::vector<Doc>& docs) {
  std::map<std::string_view, std::vector<std::string>> by_table;
  for (const Doc& doc : docs) {
    if (doc.id.empty() || !catalog.contains(doc.table)) continue;
    try {
      validate_record_id(doc.id);
    } catch (const Error&) {
      continue;
    }
    by_table[doc.table].push_back(doc.id);
  }
  for (const auto& [name, ids] : by_table) storage.prefetch(txn, catalog.find(name)->second, ids);
}

// Runs `plan_one` for each document inside one write transaction; document
// errors are reported per document, the rest commit together. `prepare`
// runs first, once the transaction has begun.
template <typename Doc, typename PrepareFn, typename PlanFn, typename ApplyFn>
std::vector<WriteResult> write_batch(Storage& storage, const std::vector<Doc>& docs,
                                     PrepareFn prepare, PlanFn plan_one, ApplyFn apply_one) {
  std::vector<WriteResult> results;
  results.reserve(docs.size());
  auto txn = storage.begin(TransactionKind::write);
  prepare(*txn);
  bool wrote = false;
  for (const Doc& doc : docs) {
    WriteResult result;
    result.table = doc.table;
    result.id = doc.id;
    try {
      auto plan = plan_one(*txn, doc);
      result.id = plan.id;
      result.revision = plan.result;
      apply_one(*txn, plan);
      wrote = wrote || !plan.noop;
    } catch (const Error& e) {
      if (!is_document_error(e.code())) throw;
      result.error = e;
    }
    results.push_back(std::move(result));
  }
  if (wrote) txn->commit();
  return results;
}

}  // namespace

namespace {

// `edits` with a UUID for every create that has no id. Given once per call,
// before any retry: a transaction run again (its COMMIT's outcome was
// unknown) must replay the same creates, not make new records.
std::vector<Edit> with_generated_ids(const std::vector<Edit>& edits) {
  std::vector<Edit> out = edits;
  for (Edit& e : out) {
    if (e.id.empty() && e.kind == Edit::Kind::put && e.parent.empty()) e.id = uuid_v4();
  }
  return out;
}

}  // namespace

std::vector<WriteResult> RecordEngine::write(const std::vector<Edit>& edits) {
  return write_edits(edits, nullptr);
}

std::vector<WriteResult> RecordEngine::write_within(const std::vector<Edit>& edits,
                                                    const WriteScope& scope) {
  return write_edits(edits, &scope);
}

std::vector<WriteResult> RecordEngine::write_edits(const std::vector<Edit>& given,
                                                   const WriteScope* scope) {
  const bool needs_ids = std::any_of(given.begin(), given.end(), [](const Edit& e) {
    return e.id.empty() && e.kind == Edit::Kind::put && e.parent.empty();
  });
  const std::vector<Edit> named = needs_ids ? with_generated_ids(given) : std::vector<Edit>();
  const std::vector<Edit>& edits = needs_ids ? named : given;
  auto results = with_retry([&] {
    std::shared_ptr<const Catalog> cat;
    return write_batch(
        *storage_, edits,
        [&](Transaction& txn) {
          cat = catalog(txn);
          prefetch_batch(*storage_, txn, *cat, edits);
        },
        [&](Transaction& txn, const Edit& e) {
          if (scope) authorize_edit(txn, table_in(*cat, e.table), e, *scope);
          return plan_edit(txn, *cat, e);
        },
        [&](Transaction& txn, const Plan& p) { apply(txn, p); });
  });
  notify_commit();
  return results;
}

std::vector<WriteResult> RecordEngine::write_replicated(const std::vector<RemoteRevision>& revs) {
  return write_remote(revs, nullptr);
}

std::vector<WriteResult> RecordEngine::write_replicated_within(
    const std::vector<RemoteRevision>& revs, const WriteScope& scope) {
  return write_remote(revs, &scope);
}

std::vector<WriteResult> RecordEngine::write_remote(const std::vector<RemoteRevision>& revs,
                                                    const WriteScope* scope) {
  auto results = with_retry([&] {
    std::shared_ptr<const Catalog> cat;
    return write_batch(
        *storage_, revs,
        [&](Transaction& txn) {
          cat = catalog(txn);
          prefetch_batch(*storage_, txn, *cat, revs);
        },
        [&](Transaction& txn, const RemoteRevision& r) {
          if (scope) authorize_remote(txn, table_in(*cat, r.table), r, *scope);
          return plan_remote(txn, *cat, r);
        },
        [&](Transaction& txn, const Plan& p) { apply(txn, p); });
  });
  notify_commit();
  return results;
}

// ---------------------------------------------------------------- reads

std::optional<Record> RecordEngine::get(const std::string& table_name, const std::string& id,
                                        const GetOptions& options) {
  return with_retry([&]() -> std::optional<Record> {
    auto txn = storage_->begin(TransactionKind::read);
    auto cat = catalog(*txn);
    const Table& table = table_in(*cat, table_name);
    validate_record_id(id);
    if (options.scope && !in_scope(*txn, table, options.scope.get(), id)) return std::nullopt;
    std::vector<Node> leaves = storage_->leaves(*txn, table, id);
    if (leaves.empty()) return std::nullopt;
    std::optional<Node> node;
    if (options.revision.empty()) {
      node = pick_winner(leaves);
    } else {
      node = find_in(leaves, options.revision);
      if (!node) node = storage_->find_node(*txn, table, id, options.revision);
    }
    if (!node) return std::nullopt;
    std::optional<Attributes> body = storage_->body(*txn, table, id, node->revision);
    if (!body) return std::nullopt;
    Record record{table.name, id, node->revision, node->deleted, std::move(*body), {}, {}};
    if (options.conflicts) record.conflicts = conflicts_of(leaves);
    if (options.ancestry) {
      record.ancestry =
          ancestry_in(storage_->all_nodes(*txn, table, id), *node, {}, options_.revs_limit);
    }
    return record;
  });
}

RecordPage RecordEngine::list_records(const std::string& table_name, const std::string& after,
                                      size_t limit, const Scope* scope) {
  return with_retry([&] {
    auto txn = storage_->begin(TransactionKind::read);
    auto cat = catalog(*txn);
    const Table& table = table_in(*cat, table_name);
    RecordPage page;
    const ScopeClause* clause = scope ? scope->find(table.name) : nullptr;
    if (scope && !clause) return page;
    for (auto& [id, row] : storage_->list_winners(*txn, table, after, limit, clause)) {
      page.records.push_back(
          Record{table.name, id, row.revision, false, std::move(row.attributes), {}, {}});
    }
    if (limit > 0 && page.records.size() == limit) page.next = page.records.back().id;
    return page;
  });
}

ConflictPage RecordEngine::list_conflicts(const std::string& table_name, const std::string& after,
                                          size_t limit, const Scope* scope) {
  // The cursor is "table/id"; table names never contain '/'.
  std::string after_table, after_id;
  if (auto slash = after.find('/'); slash != std::string::npos) {
    after_table = after.substr(0, slash);
    after_id = after.substr(slash + 1);
  }
  return with_retry([&] {
    auto txn = storage_->begin(TransactionKind::read);
    auto cat = catalog(*txn);
    std::vector<const Table*> tables;
    if (!table_name.empty()) {
      tables.push_back(&table_in(*cat, table_name));
    } else {
      for (const auto& [name, t] : *cat) tables.push_back(&t);
    }
    ConflictPage page;
    for (const Table* t : tables) {
      if (page.entries.size() >= limit) break;
      if (t->name < after_table) continue;
      const ScopeClause* clause = scope ? scope->find(t->name) : nullptr;
      if (scope && !clause) continue;
      std::string from = t->name == after_table ? after_id : std::string();
      for (const std::string& id :
           storage_->list_conflicted(*txn, *t, from, limit - page.entries.size(), clause)) {
        std::vector<Node> leaves = storage_->leaves(*txn, *t, id);
        page.entries.push_back(
            ConflictEntry{t->name, id, pick_winner(leaves).revision, conflicts_of(leaves)});
      }
    }
    if (limit > 0 && page.entries.size() == limit) {
      page.next = page.entries.back().table + "/" + page.entries.back().id;
    }
    return page;
  });
}

ChangesPage RecordEngine::changes(const ChangesRequest& request) {
  for (const std::string& t : request.tables) validate_table_name(t);
  // Each read of a long-poll goes on from where the previous one ended
  // (under a scope, past the changes it left out).
  ChangesRequest current = request;
  std::function<ChangesPage()> read_once;
  if (request.scope) {
    read_once = [&] { return read_scoped(current); };
  } else {
    storage_->check_cursor(request.since);
    read_once = [&] {
      Storage::FeedPage feed = with_retry([&] {
        auto txn = storage_->begin(TransactionKind::read);
        return storage_->read_changes(*txn, current.since, current.tables, current.limit);
      });
      ChangesPage page;
      page.last_seq = feed.last_cursor;
      page.more = current.limit == 0 || feed.entries.size() >= current.limit;
      for (auto& e : feed.entries) {
        page.results.push_back(Change{std::move(e.cursor), std::move(e.change.table),
                                      std::move(e.change.id), std::move(e.change.winner),
                                      e.change.deleted, std::move(e.change.leaves)});
      }
      return page;
    };
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(request.timeout_ms);
  for (;;) {
    uint64_t seen;
    {
      std::lock_guard lock(feed_mu_);
      seen = commits_;
    }
    ChangesPage page = read_once();
    auto now = std::chrono::steady_clock::now();
    if (page.results.empty() && request.scope && page.last_seq != current.since &&
        request.timeout_ms > 0 && now < deadline && !request.stop.stop_requested()) {
      current.since = page.last_seq;  // a bounded scoped read: read on at once
      continue;
    }
    if (!page.results.empty() || request.timeout_ms <= 0 || now >= deadline ||
        request.stop.stop_requested()) {
      return page;
    }
    current.since = page.last_seq;
    std::unique_lock lock(feed_mu_);
    feed_cv_.wait_until(lock, request.stop, std::min(deadline, now + kExternalPollInterval),
                        [&] { return commits_ != seen; });
  }
}

void RecordEngine::notify_commit() {
  {
    std::lock_guard lock(feed_mu_);
    ++commits_;
  }
  feed_cv_.notify_all();
}

namespace {

// The positions of `queries` grouped by table, each table that `catalog`
// holds once; queries of other tables are left out.
template <typename Query, typename CatalogT>
std::vector<std::pair<const Table*, std::vector<size_t>>> group_by_table(
    const std::vector<Query>& queries, const CatalogT& catalog) {
  std::map<std::string_view, std::vector<size_t>> positions;
  for (size_t i = 0; i < queries.size(); ++i) {
    if (catalog.contains(queries[i].table)) positions[queries[i].table].push_back(i);
  }
  std::vector<std::pair<const Table*, std::vector<size_t>>> out;
  for (auto& [name, at] : positions) out.emplace_back(&catalog.find(name)->second, std::move(at));
  return out;
}

// Keeps in `at` the queries whose record is in `scope` (all of them
// without a scope).
template <typename Query>
void keep_in_scope(Storage& storage, Transaction& txn, const Table& table, const Scope* scope,
                   const std::vector<Query>& queries, std::vector<size_t>& at) {
  if (scope == nullptr) return;
  const ScopeClause* clause = scope->find(table.name);
  if (clause == nullptr) {
    at.clear();
    return;
  }
  if (clause->everything()) return;
  std::vector<std::string> ids;
  for (size_t i : at) ids.push_back(queries[i].id);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<std::string> visible = storage.matching(txn, table, *clause, ids);
  std::sort(visible.begin(), visible.end());
  std::erase_if(at, [&](size_t i) {
    return !std::binary_search(visible.begin(), visible.end(), queries[i].id);
  });
}

// The trees of the records that queries `at` name, in that order.
template <typename Query>
std::vector<std::vector<Node>> trees_of(Storage& storage, Transaction& txn, const Table& table,
                                        const std::vector<Query>& queries,
                                        const std::vector<size_t>& at) {
  std::vector<std::string> ids;
  ids.reserve(at.size());
  for (size_t i : at) ids.push_back(queries[i].id);
  return storage.trees(txn, table, ids);
}

}  // namespace

std::vector<RevsDiffResult> RecordEngine::revs_diff(const std::vector<RevsDiffQuery>& queries,
                                                    const Scope* scope) {
  for (const RevsDiffQuery& q : queries) validate_table_name(q.table);  // invalid_name
  return with_retry([&] {
    auto txn = storage_->begin(TransactionKind::read);
    auto cat = catalog(*txn);
    // A record of an unknown table has nothing: every revision is missing.
    std::vector<RevsDiffResult> out;
    out.reserve(queries.size());
    for (const RevsDiffQuery& q : queries) out.push_back({q.table, q.id, q.revisions, {}});
    for (auto& [table, at] : group_by_table(queries, *cat)) {
      // A record out of the scope has nothing, like an absent one.
      keep_in_scope(*storage_, *txn, *table, scope, queries, at);
      std::vector<std::vector<Node>> trees = trees_of(*storage_, *txn, *table, queries, at);
      for (size_t k = 0; k < at.size(); ++k) {
        RevsDiffResult& r = out[at[k]];
        std::erase_if(r.missing,
                      [&](const Revision& rev) { return find_in(trees[k], rev).has_value(); });
        r.leaves = leaf_revisions(leaves_of(trees[k]));
      }
    }
    return out;
  });
}

std::vector<BulkGetResult> RecordEngine::bulk_get(const std::vector<BulkGetQuery>& queries,
                                                  const Scope* scope) {
  return with_retry([&] {
    auto txn = storage_->begin(TransactionKind::read);
    auto cat = catalog(*txn);
    std::vector<BulkGetResult> out(queries.size());
    auto missing = [&](const BulkGetQuery& q) {
      return Error(ErrorCode::not_found,
                   "record " + q.table + "/" + q.id + " has no revision " + q.revision.str());
    };
    for (size_t i = 0; i < queries.size(); ++i) {
      if (cat->contains(queries[i].table)) continue;
      try {
        table_in(*cat, queries[i].table);  // says why: invalid_name or unknown_table
      } catch (const Error& e) {
        out[i].error = e;
      }
    }
    for (auto& [table, at] : group_by_table(queries, *cat)) {
      std::vector<size_t> all = at;
      keep_in_scope(*storage_, *txn, *table, scope, queries, at);
      for (size_t i : all) {
        if (!std::binary_search(at.begin(), at.end(), i)) out[i].error = missing(queries[i]);
      }
      std::vector<Storage::RevisionKey> keys;
      keys.reserve(at.size());
      for (size_t i : at) keys.push_back({queries[i].id, queries[i].revision});
      std::vector<Storage::TreeAndBody> found = storage_->trees_and_bodies(*txn, *table, keys);
      for (size_t k = 0; k < at.size(); ++k) {
        const BulkGetQuery& q = queries[at[k]];
        BulkGetResult& r = out[at[k]];
        std::optional<Node> node = find_in(found[k].tree, q.revision);
        if (!node || !found[k].body) {
          r.error = missing(q);
          continue;
        }
        // However far back the target's known revision lies (DESIGN §4):
        // a shorter path would graft as a new root, a false conflict.
        std::vector<Revision> ancestry = ancestry_in(found[k].tree, *node, q.known, SIZE_MAX);
        r.revision = RemoteRevision{table->name,
                                    q.id,
                                    node->revision,
                                    node->deleted,
                                    std::move(*found[k].body),
                                    std::move(ancestry),
                                    std::nullopt};
        if (node->deleted) {
          r.revision->parent_attributes = parent_body(*txn, *table, q, found[k].tree, *node);
        }
      }
    }
    return out;
  });
}

// ---------------------------------------------------------------- local documents

static void check_local_id(const std::string& id) {
  if (id.empty() || id.size() > kMaxLocalIdBytes || !is_valid_utf8(id) ||
      control_char_offset(id) != std::string_view::npos) {
    throw Error(ErrorCode::invalid_name, "a local document id is 1 to " +
                                             std::to_string(kMaxLocalIdBytes) +
                                             " bytes of UTF-8 without control characters");
  }
}

std::optional<std::string> RecordEngine::get_local(const std::string& id) {
  check_local_id(id);
  return with_retry([&] {
    auto txn = storage_->begin(TransactionKind::read);
    return storage_->get_local(*txn, id);
  });
}

void RecordEngine::put_local(const std::string& id, const std::string& json) {
  check_local_id(id);
  with_retry([&] {
    auto txn = storage_->begin(TransactionKind::write);
    storage_->put_local(*txn, id, json);
    txn->commit();
  });
}

std::vector<std::pair<std::string, std::string>> RecordEngine::list_local() {
  return with_retry([&] {
    auto txn = storage_->begin(TransactionKind::read);
    return storage_->list_local(*txn);
  });
}

// ---------------------------------------------------------------- check

std::vector<std::string> RecordEngine::check() {
  return with_retry([&] {
    auto txn = storage_->begin(TransactionKind::read);
    auto cat = catalog(*txn);
    std::vector<std::string> problems;
    for (const auto& entry : *cat) {
      // Named apart: a lambda may not capture a structured binding (clang
      // before 16 refuses it, and the fuzz build uses clang).
      const std::string& name = entry.first;
      const auto& table = entry.second;
      storage_->for_each_record(*txn, table, [&](const std::string& id) {
        std::string where = name + "/" + id + ": ";
        std::vector<Node> leaves = storage_->leaves(*txn, table, id);
        if (leaves.empty()) {
          problems.push_back(where + "history has no leaf");
          return;
        }
        const Node& winner = pick_winner(leaves);
        std::optional<WinnerRow> row = storage_->winner_row(*txn, table, id);
        if (winner.deleted) {
          if (row) problems.push_back(where + "deleted record still has a current row");
          return;
        }
        if (!row) {
          problems.push_back(where + "live winner " + winner.revision.str() +
                             " has no current row");
          return;
        }
        if (row->revision != winner.revision) {
          problems.push_back(where + "current row holds " + row->revision.str() +
                             " but the winner is " + winner.revision.str());
        }
        if (row->conflicted != !conflicts_of(leaves).empty()) {
          problems.push_back(where + "_conflicted disagrees with the leaves");
        }
        std::optional<Attributes> body = storage_->body(*txn, table, id, winner.revision);
        if (!body || *body != row->attributes) {
          problems.push_back(where + "current row's attributes differ from the winner's body");
        }
      });
    }
    check_counts(*txn, *cat, problems);
    return problems;
  });
}

}  // namespace outpost
