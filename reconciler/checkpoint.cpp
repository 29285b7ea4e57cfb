#include "reconciler/checkpoint.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <tuple>

#include "api/tokens.h"
#include "utils/sha256.h"

namespace outpost {

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void put_string(JsonWriter& writer, std::string_view text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void put_strings(JsonWriter& writer, const std::vector<std::string>& texts) {
  writer.StartArray();
  for (const std::string& t : texts) put_string(writer, t);
  writer.EndArray();
}

}  // namespace

std::vector<std::string> normalized_tables(std::vector<std::string> tables) {
  std::erase_if(tables, [](const std::string& t) { return t.empty(); });
  std::sort(tables.begin(), tables.end());
  tables.erase(std::unique(tables.begin(), tables.end()), tables.end());
  return tables;
}

std::string replication_id(std::string_view source_db_id, std::string_view target_db_id,
                           const std::vector<std::string>& tables) {
  std::string input = "outpost/replication/1\n";
  input.append(source_db_id);
  input += '\n';
  input.append(target_db_id);
  input += '\n';
  bool first = true;
  for (const std::string& t : normalized_tables(tables)) {
    if (!first) input += ',';
    first = false;
    input += t;
  }
  return sha256_hex(input);
}

std::string checkpoint_to_json(const Checkpoint& checkpoint) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  auto string = [&](std::string_view text) { put_string(writer, text); };
  writer.StartObject();
  string("last_seq");
  string(checkpoint.last_seq);
  string("updated_at");
  string(checkpoint.updated_at);
  string("source");
  string(checkpoint.source_db_id);
  string("target");
  string(checkpoint.target_db_id);
  string("tables");
  put_strings(writer, checkpoint.tables);
  string("skipped");
  writer.StartObject();
  for (const auto& [table, cursor] : checkpoint.skipped) {
    string(table);
    string(cursor);
  }
  writer.EndObject();
  string("history");
  put_strings(writer, checkpoint.history);
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::optional<Checkpoint> checkpoint_from_json(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
  auto member = [&](const char* name) -> const rapidjson::Value* {
    auto it = doc.FindMember(name);
    return it == doc.MemberEnd() ? nullptr : &it->value;
  };
  auto string_of = [&](const char* name) -> std::string {
    const rapidjson::Value* v = member(name);
    return v && v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : std::string();
  };
  const rapidjson::Value* last_seq = member("last_seq");
  if (last_seq == nullptr || !last_seq->IsString()) return std::nullopt;
  Checkpoint checkpoint;
  checkpoint.last_seq = string_of("last_seq");
  checkpoint.updated_at = string_of("updated_at");
  checkpoint.source_db_id = string_of("source");
  checkpoint.target_db_id = string_of("target");
  if (const rapidjson::Value* tables = member("tables"); tables && tables->IsArray()) {
    for (const auto& t : tables->GetArray()) {
      if (t.IsString()) checkpoint.tables.emplace_back(t.GetString(), t.GetStringLength());
    }
  }
  if (const rapidjson::Value* skipped = member("skipped"); skipped && skipped->IsObject()) {
    for (const auto& m : skipped->GetObject()) {
      if (m.value.IsString()) {
        checkpoint.skipped.emplace(std::string(m.name.GetString(), m.name.GetStringLength()),
                                   std::string(m.value.GetString(), m.value.GetStringLength()));
      }
    }
  }
  if (const rapidjson::Value* history = member("history"); history && history->IsArray()) {
    for (const auto& h : history->GetArray()) {
      if (h.IsString()) checkpoint.history.emplace_back(h.GetString(), h.GetStringLength());
    }
  }
  return checkpoint;
}

std::optional<Checkpoint> resume_point(const Checkpoint& target_copy,
                                       const std::optional<Checkpoint>& source_copy) {
  // The source's own copy is its proof that the cursor still names the same
  // changes: it is written into the same database as the feed, after the
  // positions it covers, and restored with it. Without one (a backup from
  // before the first sync was restored, or the first save was cut short),
  // the source's positions may have been handed out again: start over.
  if (!source_copy) return std::nullopt;
  if (source_copy->last_seq == target_copy.last_seq) return target_copy;
  auto lists = [](const Checkpoint& c, const std::string& cursor) {
    return std::find(c.history.begin(), c.history.end(), cursor) != c.history.end();
  };
  if (lists(target_copy, source_copy->last_seq)) return source_copy;
  if (lists(*source_copy, target_copy.last_seq)) return target_copy;
  return std::nullopt;
}

std::vector<PeerCheckpoint> peer_checkpoints(
    const std::vector<std::pair<std::string, std::string>>& local) {
  std::vector<PeerCheckpoint> out;
  for (const auto& [id, body] : local) {
    std::optional<Checkpoint> checkpoint = checkpoint_from_json(body);
    if (!checkpoint) continue;
    PeerCheckpoint peer;
    std::tie(peer.token, peer.replication_id) = split_token_local_id(id);
    peer.checkpoint = std::move(*checkpoint);
    out.push_back(std::move(peer));
  }
  // Canonical timestamps compare as text.
  std::stable_sort(out.begin(), out.end(), [](const PeerCheckpoint& a, const PeerCheckpoint& b) {
    return a.checkpoint.updated_at > b.checkpoint.updated_at;
  });
  return out;
}

std::string peers_to_json(const std::vector<PeerCheckpoint>& peers) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  auto string = [&](std::string_view text) { put_string(writer, text); };
  writer.StartObject();
  string("peers");
  writer.StartArray();
  for (const PeerCheckpoint& p : peers) {
    writer.StartObject();
    string("token");
    string(p.token);
    string("replication_id");
    string(p.replication_id);
    string("source");
    string(p.checkpoint.source_db_id);
    string("target");
    string(p.checkpoint.target_db_id);
    string("tables");
    put_strings(writer, p.checkpoint.tables);
    string("last_seq");
    string(p.checkpoint.last_seq);
    string("updated_at");
    string(p.checkpoint.updated_at);
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace outpost
