// JSON encoding of replication reports (for `outpost sync --json`).
#include "api/json_builder.h"
#include "reconciler/replicator.h"

namespace outpost {

namespace {

void write_report(JsonBuilder& w, const ReplicationReport& r) {
  w.start_object();
  w.field("replication_id", r.replication_id);
  w.field("source", r.source_db_id);
  w.field("target", r.target_db_id);
  w.field("start_seq", r.start_seq);
  w.field("last_seq", r.last_seq);
  w.field_count("changes_read", r.changes_read);
  w.field_count("revisions_written", r.revisions_written);
  w.field_count("already_present", r.already_present);
  w.field_count("batches", r.batches);
  w.field_count("retries", r.retries);
  auto traffic_field = [&](const char* name, uint64_t Traffic::*member) {
    w.string(name);
    if (r.traffic) {
      w.uint64((*r.traffic).*member);
    } else {
      w.null();
    }
  };
  traffic_field("requests", &Traffic::requests);
  traffic_field("round_trips", &Traffic::round_trips);
  traffic_field("bytes", &Traffic::wire_bytes);
  traffic_field("bytes_plain", &Traffic::plain_bytes);
  w.field_number("seconds", r.seconds);
  w.field_number("rate", r.rate());
  w.field_bool("cancelled", r.cancelled);
  w.field_count("refused", r.refused);
  w.field_count("purged", r.purged);
  w.field_count("purge_waiting", r.purge_waiting);
  w.string("errors");
  w.start_array();
  for (const ReplicationError& e : r.errors) {
    w.start_object();
    w.field("table", e.table);
    w.field("id", e.id);
    w.field("revision", e.revision);
    w.field("error", error_code_name(e.code));
    w.field("message", e.message);
    w.end_object();
  }
  w.end_array();
  w.string("fatal");
  if (r.fatal) {
    w.start_object();
    w.field("error", r.fatal->code_name());
    w.field("message", r.fatal->message());
    w.end_object();
  } else {
    w.null();
  }
  w.end_object();
}

}  // namespace

std::string replication_report_to_json(const ReplicationReport& report) {
  JsonBuilder w;
  write_report(w, report);
  return w.str();
}

std::string sync_report_to_json(const SyncReport& report) {
  JsonBuilder w;
  w.start_object();
  w.string("a_to_b");
  write_report(w, report.a_to_b);
  w.string("b_to_a");
  write_report(w, report.b_to_a);
  w.string("total");
  write_report(w, report.combined());
  w.end_object();
  return w.str();
}

}  // namespace outpost
