// The writing half of a replication run (replicator.h, "Pipelining"): a
// bounded queue of write jobs, a writer thread, and up to kWritesInFlight
// writes running at once.
//
// The reading half pushes the documents of each feed page in chunks, then
// one job that ends the page (its `checkpoint` set). The writer takes what
// is queued and starts a write for it; when kWritesInFlight writes are
// running, what queues up meanwhile goes into the next write together,
// never past the end of a page and never more than max_write_docs() (half
// a page), so that the writes share a page evenly rather than its last
// write taking all the rest alone. `page_written` is called once every
// write up to the page's end has finished: a checkpoint saved there covers
// only pages written entirely. With `last_write_with_end`, the page's last
// documents, when queued with its end, are not written by the pipeline but
// handed to `page_written` (WriteJob::docs), which writes them itself and
// can save the checkpoint with them (one round trip to a remote target).
//
// The queue holds about one page beyond the one being written: push()
// blocks until there is room. A failure of a write or of `page_written`
// stops the writer: the other running writes are waited for (no write
// outlives the pipeline), the queue is dropped, push() throws
// WriterStopped, and finish() rethrows the first failure. A stop request
// (`stop`) ends the writer before its next write with RunCancelled.
//
// Thread-safety: push() and finish() are called from one thread (the
// reading half); `write` runs on threads of its own, up to kWritesInFlight
// at once; `page_written` runs on the writer thread, one call at a time.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "api/record.h"

namespace outpost {

// Revisions read from the source for the target: one chunk of a feed page.
// The page's last job carries the cursor to save once all of it is written.
struct WriteJob {
  std::vector<RemoteRevision> docs;
  std::optional<std::string> checkpoint;       // end of a page: save this cursor
  std::map<std::string, std::string> skipped;  // the checkpoint's skipped tables
  size_t changes = 0;                          // feed entries of the page (with checkpoint)
  // Records the page reported out of the replication's scope (table, id),
  // purged from a scoped target before the checkpoint (reconciler/scoping.h).
  std::vector<std::pair<std::string, std::string>> removed;
  // The pusher's causal depth (api/round_trips.h), set by push(): a write
  // follows the reads that produced its documents.
  uint64_t depth = 0;
};

// Thrown by WritePipeline::push when the writer has stopped on a failure
// (finish() then rethrows it).
struct WriterStopped {};

class WritePipeline {
 public:
  // Writes of one page that may run at once. A feed page lists each record
  // once, so they touch different records; a target that can run them in
  // parallel (PostgreSQL, through a server or not) does, one that cannot
  // (SQLite) takes them one after the other.
  static constexpr size_t kWritesInFlight = 2;

  using WriteFn = std::function<void(const std::vector<RemoteRevision>&)>;
  // Given the job that ended the page (checkpoint set; docs: with
  // last_write_with_end, the page's last documents, not written yet).
  using PageWrittenFn = std::function<void(const WriteJob&)>;

  // `page_size`: the feed page size (batch), which bounds the queue and
  // the merged writes.
  WritePipeline(size_t page_size, WriteFn write, PageWrittenFn page_written,
                std::stop_token stop = {}, bool last_write_with_end = false);
  // Stops the writer if finish() was not called (its failure is dropped).
  ~WritePipeline();

  WritePipeline(const WritePipeline&) = delete;
  WritePipeline& operator=(const WritePipeline&) = delete;

  // Starts the writer thread.
  void start();
  // Queues `job`, waiting while about a page is queued already. Throws
  // WriterStopped when the writer has failed.
  void push(WriteJob job);
  // Lets the writer finish what is queued, joins it, and rethrows its
  // failure, if any. The caller's causal depth then covers the writes.
  void finish();

  // The most documents one write takes: half a page; a whole page with
  // last_write_with_end, so that a page whose documents are queued in time
  // goes as one write that carries its checkpoint (a checkpoint saved with
  // the page's last write may not wait on an earlier write of it).
  size_t max_write_docs() const {
    return last_write_with_end_ ? page_size_ : std::max<size_t>(1, page_size_ / kWritesInFlight);
  }

 private:
  void write_loop();
  // The next write: queued jobs merged up to max_write_docs() or a page's
  // end. Empty optional: closed and drained.
  std::optional<WriteJob> take();

  const size_t page_size_;
  const WriteFn write_;
  const PageWrittenFn page_written_;
  const std::stop_token stop_;
  const bool last_write_with_end_;

  std::thread writer_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WriteJob> queue_;
  size_t queued_docs_ = 0;
  bool closed_ = false;
  std::exception_ptr failure_;
  uint64_t writer_depth_ = 0;  // the writer's causal depth when it ended
};

}  // namespace outpost
