// The server's Prometheus metrics (DESIGN.md section 12): requests by route,
// method and status, a request latency histogram, open connections, feed
// waiters, revisions written, replication batches, errors by code and
// body bytes (on the wire and decoded);
// render() adds the engine's database errors and transaction retries and
// produces the text exposition format served at GET /metrics.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

#include "api/engine.h"

namespace outpost::server {

class Metrics {
 public:
  // Upper bounds (seconds) of the latency histogram's buckets, +Inf implied.
  static constexpr std::array<double, 14> kLatencyBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60, 300};

  void record_request(std::string_view route, std::string_view method, int status, double seconds);
  void record_error(std::string_view code);  // an error response, by error code
  void add_revisions_written(uint64_t n) { revisions_written_ += n; }
  // A bulk_docs with new_edits=false: one batch a replicator wrote.
  void add_replication_batch() { ++replication_batches_; }
  // Body bytes as they crossed the wire (compressed or not) and as the
  // server read or wrote them (decoded).
  void add_request_body_bytes(uint64_t wire, uint64_t plain) {
    request_body_wire_ += wire;
    request_body_plain_ += plain;
  }
  void add_response_body_bytes(uint64_t wire, uint64_t plain) {
    response_body_wire_ += wire;
    response_body_plain_ += plain;
  }
  void connection_opened() {
    ++open_connections_;
    ++connections_total_;
  }
  void connection_closed() { --open_connections_; }
  void connection_refused() { ++connections_refused_; }
  void feed_waiter_added() { ++feed_waiters_; }
  void feed_waiter_removed() { --feed_waiters_; }

  int64_t open_connections() const { return open_connections_; }
  int64_t feed_waiters() const { return feed_waiters_; }
  uint64_t revisions_written() const { return revisions_written_; }

  std::string render(const EngineStats& engine) const;

 private:
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::string, uint64_t, std::less<>> errors_;
  std::array<uint64_t, kLatencyBuckets.size()> bucket_counts_{};  // not cumulative
  uint64_t latency_count_ = 0;
  double latency_sum_ = 0;

  std::atomic<int64_t> open_connections_{0};
  std::atomic<uint64_t> connections_total_{0};
  std::atomic<uint64_t> connections_refused_{0};
  std::atomic<int64_t> feed_waiters_{0};
  std::atomic<uint64_t> revisions_written_{0};
  std::atomic<uint64_t> replication_batches_{0};
  std::atomic<uint64_t> request_body_wire_{0};
  std::atomic<uint64_t> request_body_plain_{0};
  std::atomic<uint64_t> response_body_wire_{0};
  std::atomic<uint64_t> response_body_plain_{0};
};

}  // namespace outpost::server
