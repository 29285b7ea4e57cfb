#include "reconciler/checkpointer.h"

#include "utils/log.h"

namespace outpost {

std::optional<Checkpoint> Checkpointer::load(Engine& engine) {
  std::optional<std::string> text = engine.get_local(id_);
  if (!text) return std::nullopt;
  std::optional<Checkpoint> checkpoint = checkpoint_from_json(*text);
  if (!checkpoint) {
    log_warn("replicate", "ignoring a checkpoint that does not decode; starting over",
             {{"replication", id_}});
  }
  return checkpoint;
}

void Checkpointer::save(Engine& engine, const Checkpoint& checkpoint) {
  engine.put_local(id_, checkpoint_to_json(checkpoint));
}

}  // namespace outpost
