#include "server/metrics.h"

#include <cstdio>

namespace outpost::server {

namespace {

// Label values are route templates, methods and error codes: escape anyway.
std::string label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// A metric with a single sample: its HELP and TYPE lines, then the value.
void single(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            const std::string& value) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  out.append(name).append(" ").append(value).append("\n");
}

}  // namespace

void Metrics::record_request(std::string_view route, std::string_view method, int status,
                             double seconds) {
  std::lock_guard lock(mu_);
  ++requests_[{std::string(route), std::string(method), status}];
  for (size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    if (seconds <= kLatencyBuckets[i]) {
      ++bucket_counts_[i];
      break;
    }
  }
  ++latency_count_;
  latency_sum_ += seconds;
}

void Metrics::record_error(std::string_view code) {
  std::lock_guard lock(mu_);
  auto it = errors_.find(code);
  if (it == errors_.end()) it = errors_.emplace(std::string(code), 0).first;
  ++it->second;
}

std::string Metrics::render(const EngineStats& engine) const {
  std::string out;
  std::lock_guard lock(mu_);
  out += "# HELP outpost_http_requests_total HTTP requests by route template, method and status.\n";
  out += "# TYPE outpost_http_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    const auto& [route, method, status] = key;
    out += "outpost_http_requests_total{route=\"" + label(route) + "\",method=\"" + label(method) +
           "\",status=\"" + std::to_string(status) + "\"} " + std::to_string(count) + "\n";
  }
  out += "# HELP outpost_http_request_duration_seconds Time from a request read to its response.\n";
  out += "# TYPE outpost_http_request_duration_seconds histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    cumulative += bucket_counts_[i];
    out += "outpost_http_request_duration_seconds_bucket{le=\"" + number(kLatencyBuckets[i]) +
           "\"} " + std::to_string(cumulative) + "\n";
  }
  out += "outpost_http_request_duration_seconds_bucket{le=\"+Inf\"} " +
         std::to_string(latency_count_) + "\n";
  out += "outpost_http_request_duration_seconds_sum " + number(latency_sum_) + "\n";
  out += "outpost_http_request_duration_seconds_count " + std::to_string(latency_count_) + "\n";
  out += "# HELP outpost_http_errors_total Error responses by error code.\n";
  out += "# TYPE outpost_http_errors_total counter\n";
  for (const auto& [code, count] : errors_) {
    out +=
        "outpost_http_errors_total{code=\"" + label(code) + "\"} " + std::to_string(count) + "\n";
  }
  single(out, "outpost_http_open_connections", "gauge", "Connections open now.",
         std::to_string(open_connections_.load()));
  single(out, "outpost_http_connections_total", "counter", "Connections accepted.",
         std::to_string(connections_total_.load()));
  single(out, "outpost_http_connections_refused_total", "counter",
         "Connections closed at once (cap reached).", std::to_string(connections_refused_.load()));
  single(out, "outpost_feed_waiters", "gauge", "Long-poll requests waiting for changes now.",
         std::to_string(feed_waiters_.load()));
  single(out, "outpost_revisions_written_total", "counter", "Revisions written through the API.",
         std::to_string(revisions_written_.load()));
  single(out, "outpost_replication_batches_total", "counter",
         "Batches of replicated revisions written (bulk_docs with new_edits=false).",
         std::to_string(replication_batches_.load()));
  out +=
      "# HELP outpost_http_body_bytes_total Request and response body bytes, on the wire "
      "(compressed or not) and decoded.\n";
  out += "# TYPE outpost_http_body_bytes_total counter\n";
  const std::pair<const char*, uint64_t> bodies[] = {
      {"direction=\"in\",form=\"wire\"", request_body_wire_.load()},
      {"direction=\"in\",form=\"plain\"", request_body_plain_.load()},
      {"direction=\"out\",form=\"wire\"", response_body_wire_.load()},
      {"direction=\"out\",form=\"plain\"", response_body_plain_.load()},
  };
  for (const auto& [labels, value] : bodies) {
    out.append("outpost_http_body_bytes_total{").append(labels).append("} ");
    out += std::to_string(value) + "\n";
  }
  single(out, "outpost_database_errors_total", "counter",
         "Engine calls that failed with unavailable or internal (database down or busy, a "
         "statement refused), after any retries.",
         std::to_string(engine.database_errors));
  single(out, "outpost_transaction_retries_total", "counter",
         "Transactions run again after a transient failure (a write conflict, a deadlock, a lost "
         "connection).",
         std::to_string(engine.transaction_retries));
  return out;
}

}  // namespace outpost::server
