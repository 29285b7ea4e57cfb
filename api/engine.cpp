// The single-edit convenience wrappers declared in api/engine.h.
#include "api/engine.h"

#include "api/error.h"

namespace outpost {

std::vector<std::pair<std::string, std::string>> Engine::list_local() {
  throw Error(ErrorCode::internal, "this database cannot list its local documents");
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
