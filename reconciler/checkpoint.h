// The replication checkpoint of DESIGN.md section 7: the value and its JSON
// form are api/checkpoint.h (the server lists checkpoints too); this adds
// the rules only replication needs: where a run resumes and which id a
// replication has. Storing a checkpoint is the Checkpointer's job
// (reconciler/checkpointer.h).
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/checkpoint.h"

namespace outpost {

constexpr size_t kCheckpointHistory = 20;

// Where a run resumes: the newest cursor that both copies show was saved.
// The target's copy is authoritative; when both agree, it is the answer.
// Without a source copy the source cannot show that its cursors still name
// the same changes (a backup from before the first sync was restored: its
// positions are handed out again), so the answer is nullopt: start from
// the beginning, which revs_diff keeps cheap. A source copy that the target's history lists
// is behind (its save was lost, or the source was restored from a backup)
// and is the answer: nothing the source wrote after it was copied for
// sure. A target copy that the source's history lists is behind (the
// target was restored) and is the answer. Copies that share no cursor give
// nullopt: start from the beginning.
std::optional<Checkpoint> resume_point(const Checkpoint& target_copy,
                                       const std::optional<Checkpoint>& source_copy);

// The table filter as it enters the replication id: sorted, duplicates and
// empty names removed.
std::vector<std::string> normalized_tables(std::vector<std::string> tables);

// Hex SHA-256 of "outpost/replication/1\n" source "\n" target "\n" and the
// normalized tables joined by ','. The same pair and filter always give the
// same id; each direction and each filter has its own. A scoped replication
// appends "\n" and the scope fingerprint (DESIGN.md section 14), so that a
// changed scope starts a new checkpoint.
std::string replication_id(std::string_view source_db_id, std::string_view target_db_id,
                           const std::vector<std::string>& tables,
                           std::string_view scope_fingerprint = {});

}  // namespace outpost
