#include "reconciler/write_pipeline.h"

#include <algorithm>
#include <future>
#include <iterator>
#include <utility>

#include "api/round_trips.h"
#include "reconciler/stop.h"

namespace outpost {

WritePipeline::WritePipeline(size_t page_size, WriteFn write, PageWrittenFn page_written,
                             std::stop_token stop, bool last_write_with_end)
    : page_size_(std::max<size_t>(1, page_size)),
      write_(std::move(write)),
      page_written_(std::move(page_written)),
      stop_(std::move(stop)),
      last_write_with_end_(last_write_with_end) {}

WritePipeline::~WritePipeline() {
  if (!writer_.joinable()) return;
  try {
    finish();
  } catch (...) {
  }
}

void WritePipeline::start() {
  writer_ = std::thread([this] { write_loop(); });
}

void WritePipeline::finish() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  join_causal_depth(writer_depth_);
  if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
}

void WritePipeline::push(WriteJob job) {
  job.depth = causal_depth();
  std::unique_lock lock(mu_);
  // Room for about one page beyond the one being written.
  cv_.wait(lock, [&] { return failure_ || queued_docs_ < page_size_; });
  if (failure_) throw WriterStopped{};
  queued_docs_ += job.docs.size();
  queue_.push_back(std::move(job));
  lock.unlock();
  cv_.notify_all();
}

std::optional<WriteJob> WritePipeline::take() {
  WriteJob merged;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return closed_ || !queue_.empty(); });
    if (queue_.empty()) return std::nullopt;  // closed and drained
    while (!queue_.empty() && !merged.checkpoint) {
      WriteJob& next = queue_.front();
      if (!merged.docs.empty() && !next.docs.empty() &&
          merged.docs.size() + next.docs.size() > max_write_docs()) {
        break;
      }
      queued_docs_ -= next.docs.size();
      std::move(next.docs.begin(), next.docs.end(), std::back_inserter(merged.docs));
      merged.checkpoint = std::move(next.checkpoint);
      merged.skipped = std::move(next.skipped);
      merged.changes = next.changes;
      merged.removed = std::move(next.removed);
      merged.depth = std::max(merged.depth, next.depth);
      queue_.pop_front();
    }
  }
  cv_.notify_all();
  return merged;
}

void WritePipeline::write_loop() {
  set_causal_depth(0);
  // Each write returns its causal depth.
  std::deque<std::future<uint64_t>> in_flight;
  // Waits until at most `keep` writes are running; rethrows a failure.
  auto settle = [&](size_t keep) {
    while (in_flight.size() > keep) {
      std::future<uint64_t> oldest = std::move(in_flight.front());
      in_flight.pop_front();
      join_causal_depth(oldest.get());
    }
  };
  try {
    for (;;) {
      settle(kWritesInFlight - 1);
      std::optional<WriteJob> merged = take();
      if (!merged) break;
      if (stop_.stop_requested()) throw RunCancelled{};
      join_causal_depth(merged->depth);
      if (merged->checkpoint && last_write_with_end_) {
        // The page's last documents are written by page_written, after
        // every write before them.
        settle(0);
        page_written_(*merged);
        continue;
      }
      if (!merged->docs.empty()) {
        in_flight.push_back(std::async(
            std::launch::async, [this, docs = std::move(merged->docs), depth = causal_depth()] {
              set_causal_depth(depth);
              write_(docs);
              return causal_depth();
            }));
        merged->docs.clear();
      }
      if (!merged->checkpoint) continue;
      settle(0);
      page_written_(*merged);
    }
    settle(0);
    writer_depth_ = causal_depth();
  } catch (...) {
    std::exception_ptr failure = std::current_exception();
    // No write may outlive the pipeline: wait for the others (the first
    // failure is the one reported).
    for (std::future<uint64_t>& f : in_flight) {
      try {
        f.get();
      } catch (...) {
      }
    }
    std::lock_guard lock(mu_);
    failure_ = failure;
    queue_.clear();
    queued_docs_ = 0;
  }
  cv_.notify_all();
}

}  // namespace outpost
