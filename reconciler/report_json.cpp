// JSON encoding of replication reports (for `outpost sync --json`).
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "reconciler/replicator.h"

namespace outpost {

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void put_string(JsonWriter& writer, std::string_view text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void write_report(JsonWriter& w, const ReplicationReport& r) {
  w.StartObject();
  put_string(w, "replication_id");
  put_string(w, r.replication_id);
  put_string(w, "source");
  put_string(w, r.source_db_id);
  put_string(w, "target");
  put_string(w, r.target_db_id);
  put_string(w, "start_seq");
  put_string(w, r.start_seq);
  put_string(w, "last_seq");
  put_string(w, r.last_seq);
  put_string(w, "changes_read");
  w.Uint64(r.changes_read);
  put_string(w, "revisions_written");
  w.Uint64(r.revisions_written);
  put_string(w, "already_present");
  w.Uint64(r.already_present);
  put_string(w, "batches");
  w.Uint64(r.batches);
  put_string(w, "retries");
  w.Uint64(r.retries);
  put_string(w, "bytes");
  if (r.bytes) {
    w.Uint64(*r.bytes);
  } else {
    w.Null();
  }
  put_string(w, "seconds");
  w.Double(r.seconds);
  put_string(w, "rate");
  w.Double(r.rate());
  put_string(w, "cancelled");
  w.Bool(r.cancelled);
  put_string(w, "refused");
  w.Uint64(r.refused);
  put_string(w, "errors");
  w.StartArray();
  for (const ReplicationError& e : r.errors) {
    w.StartObject();
    put_string(w, "table");
    put_string(w, e.table);
    put_string(w, "id");
    put_string(w, e.id);
    put_string(w, "revision");
    put_string(w, e.revision);
    put_string(w, "error");
    put_string(w, error_code_name(e.code));
    put_string(w, "message");
    put_string(w, e.message);
    w.EndObject();
  }
  w.EndArray();
  put_string(w, "fatal");
  if (r.fatal) {
    w.StartObject();
    put_string(w, "error");
    put_string(w, r.fatal->code_name());
    put_string(w, "message");
    put_string(w, r.fatal->message());
    w.EndObject();
  } else {
    w.Null();
  }
  w.EndObject();
}

}  // namespace

std::string replication_report_to_json(const ReplicationReport& report) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  write_report(writer, report);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string sync_report_to_json(const SyncReport& report) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  put_string(writer, "a_to_b");
  write_report(writer, report.a_to_b);
  put_string(writer, "b_to_a");
  write_report(writer, report.b_to_a);
  put_string(writer, "total");
  write_report(writer, report.combined());
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace outpost
