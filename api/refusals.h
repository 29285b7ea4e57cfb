// The documents a replication could not write, kept so that nothing is ever
// skipped silently (DESIGN.md section 7). When the target refuses a
// document for a reason syncing cannot fix (forbidden, invalid_revision,
// too_large, ...), or the source cannot produce it, the replicator records a
// Refusal in the source database before its checkpoint moves past the
// document, tries every recorded refusal again in each later run (after
// the feed in a one-shot run, before it in a continuous one), and drops one
// only once the target has the revision.
//
// The list of one replication is a local document on the source, under
// refusals_local_id(replication id); `outpost sync --rejected` lists it.
// Encoding and decoding are pure. The value lives in api/ because the server
// reads these lists too (GET /v1/devices).
// Thread-safety: plain value types and pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/error.h"

namespace outpost {

struct Refusal {
  std::string table;
  std::string id;
  std::string revision;
  ErrorCode code = ErrorCode::internal;
  std::string message;
  std::string at;  // canonical timestamp (UTC) of the latest refusal

  friend bool operator==(const Refusal&, const Refusal&) = default;
};

// More refusals than this in one replication stop the run before its
// checkpoint moves on (the list must stay one local document of sane size).
constexpr size_t kMaxRefusals = 10000;

// "refused-" followed by the replication id.
std::string refusals_local_id(std::string_view replication_id);

// {"refused": [{"table", "id", "revision", "error", "message", "at"}, ...]}.
std::string refusals_to_json(const std::vector<Refusal>& refusals);
// nullopt when `text` is not such a list (malformed JSON, no "refused"
// array); entries without a table, an id or a well-formed revision are left
// out.
std::optional<std::vector<Refusal>> refusals_from_json(std::string_view text);

}  // namespace outpost
