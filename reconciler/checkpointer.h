// Stores and loads the Checkpoint of one replication as a local
// (non-replicated) document under the replication id, on the target (the
// authoritative copy) and on the source (the proof that the source's
// cursors still name the same changes, and how a hub tells when each peer
// last synced). Pure I/O through Engine::get_local/put_local; retrying
// and ordering are the caller's (the replicator saves the target's copy, then
// the source's).
// Thread-safety: as safe as the engines; holds no state of its own but the id.
#pragma once

#include <optional>
#include <string>

#include "api/engine.h"
#include "reconciler/checkpoint.h"

namespace outpost {

class Checkpointer {
 public:
  Checkpointer(Engine& source, Engine& target, std::string replication_id)
      : source_(source), target_(target), id_(std::move(replication_id)) {}

  const std::string& id() const { return id_; }

  // The target's copy; nullopt when there is none or it does not decode (the
  // replication then starts from the beginning). Throws the engine's Error.
  std::optional<Checkpoint> load_target() { return load(target_); }
  // The source's copy: what shows that the target's still names the same
  // source changes (resume_point), and what a hub lists as its peers.
  std::optional<Checkpoint> load_source() { return load(source_); }

  void save_target(const Checkpoint& checkpoint) { save(target_, checkpoint); }
  // Writes `docs` to the target and saves `checkpoint` there with them, in
  // one request over HTTP, if every one was written
  // (Engine::write_replicated_then_save).
  WrittenAndSaved write_then_save_target(const std::vector<RemoteRevision>& docs,
                                         const Checkpoint& checkpoint) {
    return target_.write_replicated_then_save(docs, id_, checkpoint_to_json(checkpoint));
  }
  void save_source(const Checkpoint& checkpoint) { save(source_, checkpoint); }

 private:
  std::optional<Checkpoint> load(Engine& engine);
  void save(Engine& engine, const Checkpoint& checkpoint);

  Engine& source_;
  Engine& target_;
  std::string id_;
};

}  // namespace outpost
