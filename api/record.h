// Records, changes and the request/response values the Engine interface
// exchanges. Thread-safety: plain value types.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "api/error.h"
#include "api/revision.h"
#include "api/scope.h"
#include "api/value.h"

namespace outpost {

// One revision of one record, as read back.
struct Record {
  std::string table;
  std::string id;
  Revision revision;
  bool deleted = false;
  Attributes attributes;
  std::optional<std::vector<Revision>> conflicts;  // set when asked for
  std::optional<std::vector<Revision>> ancestry;   // nearest first, when asked for
};

// A local edit (new_edits = true).
struct Edit {
  enum class Kind { put, remove, resolve };
  Kind kind = Kind::put;
  std::string table;
  std::string id;   // empty on create: the engine generates a UUID v4
  Revision parent;  // empty: create
  Attributes attributes;
};

// A replicated revision (new_edits = false): a body and its ancestry.
struct RemoteRevision {
  std::string table;
  std::string id;
  Revision revision;
  bool deleted = false;
  Attributes attributes;
  std::vector<Revision> ancestry;  // the revision's ancestors, nearest first
  // For a deletion whose parent (ancestry[0]) is not deleted: the parent's
  // body, when the sender holds it, so that the receiver can judge the
  // deleted record by its last body (DESIGN.md section 14). The receiver
  // stores it only when it matches ancestry[0]'s hash.
  std::optional<Attributes> parent_attributes;
};

// The outcome of one document of a batch: a revision, or an error.
struct WriteResult {
  std::string table;
  std::string id;
  Revision revision;
  std::optional<Error> error;

  bool ok() const { return !error.has_value(); }
};

// One entry of the change feed: a record at its latest position.
struct Change {
  std::string seq;  // opaque cursor
  std::string table;
  std::string id;
  Revision revision;  // the winner
  bool deleted = false;
  std::vector<Revision> leaves;
  // Read under a scope: the record is out of the scope now but once had a
  // revision in it (DESIGN.md section 14). Revision and leaves are then
  // empty; a holder of the scope purges the record.
  bool removed = false;
};

struct ChangesPage {
  std::vector<Change> results;
  std::string last_seq;  // cursor to pass as `since` next time
  // False when the feed held nothing after last_seq as it was read: a
  // one-shot reader has caught up without asking again. True when it may
  // (a full page, a bounded read); also what a server that does not say
  // means.
  bool more = true;
};

struct ChangesRequest {
  std::string since;  // "" or "0": from the beginning
  size_t limit = 10000;
  std::vector<std::string> tables;  // empty: all tables
  int timeout_ms = 0;               // >0: long-poll until an entry exists or time runs out
  // A long-poll also returns (with what it has) once a stop is requested
  // here. Honoured by local engines; a request over HTTP runs its course.
  std::stop_token stop;
  // Only records in this scope, plus `removed` entries (DESIGN.md section
  // 14). Null: every record. A read from the beginning under a scope costs
  // in proportion to the records in scope; its cursors are only valid under
  // a scope.
  std::shared_ptr<const Scope> scope;
  // Whether a revision held without its body (a stub) counts as possibly
  // in the scope for `removed` entries. A server asked under a token's
  // scope says false, so that a record never seen in that scope is never
  // named to it (DESIGN.md section 9).
  bool stubs_count = true;
};

// revs_diff: for each (table, id, revisions) the ones the receiver lacks and
// the leaves it has.
struct RevsDiffQuery {
  std::string table;
  std::string id;
  std::vector<Revision> revisions;
};
struct RevsDiffResult {
  std::string table;
  std::string id;
  std::vector<Revision> missing;
  std::vector<Revision> leaves;
};

// bulk_get: one revision with ancestry cut just after the first `known` one.
struct BulkGetQuery {
  std::string table;
  std::string id;
  Revision revision;
  std::vector<Revision> known;
};
struct BulkGetResult {
  std::optional<RemoteRevision> revision;  // nullopt with error set when unavailable
  std::optional<Error> error;
};

// Purge (DESIGN.md section 14): records removed with their whole history
// from one database, not replicated, listed in its purge log.
struct PurgeRequest {
  std::string table;
  std::vector<std::string> ids;
  std::string reason;  // for the purge log
  // Only records whose latest change is at or before each of these cursors
  // (ones this database issued, e.g. a push checkpoint's last_seq) are
  // purged; the others are kept. Empty: every record named.
  std::vector<std::string> changed_at_or_before;
};
struct PurgeResult {
  std::vector<std::string> purged;
  std::vector<std::string> kept;    // changed after one of changed_at_or_before
  std::vector<std::string> absent;  // no such record
};
struct PurgeLogEntry {
  std::string table;
  std::string id;
  std::string at;  // canonical timestamp text (UTC)
  std::string reason;
};

// Which records record_ids() lists.
struct RecordSelection {
  enum class Kind { all, matching, not_matching };
  Kind kind = Kind::all;
  // For matching / not_matching. A deleted record whose last body this
  // database never held is in neither.
  const ScopeClause* clause = nullptr;
};
struct IdPage {
  std::vector<std::string> ids;
  std::string next;  // id to pass as `after`; empty at the end
};

struct RecordPage {
  std::vector<Record> records;
  std::string next;  // id to pass as `after`; empty at the end
};

// One node of a record's revision tree as a console draws it
// (Engine::revision_tree). `parent` is empty for a root.
struct RevisionNode {
  Revision revision;
  Revision parent;
  bool deleted = false;
  bool leaf = false;
  bool stub = false;    // the body is not held (a replicated ancestor)
  bool winner = false;  // the winning leaf (DESIGN.md section 4); exactly one node
};

struct ConflictEntry {
  std::string table;
  std::string id;
  Revision winner;
  std::vector<Revision> conflicts;
};
struct ConflictPage {
  std::vector<ConflictEntry> entries;
  std::string next;  // opaque "table/id" cursor; empty at the end
};

}  // namespace outpost
