// Records, changes and the request/response values the Engine interface
// exchanges. Thread-safety: plain value types.
#pragma once

#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "api/error.h"
#include "api/revision.h"
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
};

struct ChangesPage {
  std::vector<Change> results;
  std::string last_seq;  // cursor to pass as `since` next time
};

struct ChangesRequest {
  std::string since;  // "" or "0": from the beginning
  size_t limit = 10000;
  std::vector<std::string> tables;  // empty: all tables
  int timeout_ms = 0;               // >0: long-poll until an entry exists or time runs out
  // A long-poll also returns (with what it has) once a stop is requested
  // here. Honoured by local engines; a request over HTTP runs its course.
  std::stop_token stop;
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

struct RecordPage {
  std::vector<Record> records;
  std::string next;  // id to pass as `after`; empty at the end
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
