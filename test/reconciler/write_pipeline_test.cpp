// The writing half of a run: writes in flight, merges, checkpoints after
// whole pages, failures and stops.
#include "reconciler/write_pipeline.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "api/error.h"
#include "reconciler/stop.h"

namespace outpost::test {

namespace {

// `count` documents of page `page`, ids "<page>/<n>".
std::vector<RemoteRevision> docs_of(int page, int first, int count) {
  std::vector<RemoteRevision> docs;
  for (int i = first; i < first + count; ++i) {
    RemoteRevision r;
    r.table = "items";
    r.id = std::to_string(page) + "/" + std::to_string(i);
    docs.push_back(std::move(r));
  }
  return docs;
}

WriteJob chunk(int page, int first, int count) {
  WriteJob job;
  job.docs = docs_of(page, first, count);
  return job;
}

WriteJob page_end(int page, size_t changes) {
  WriteJob job;
  job.checkpoint = std::to_string(page);
  job.changes = changes;
  return job;
}

int page_of(const RemoteRevision& r) { return std::stoi(r.id.substr(0, r.id.find('/'))); }

// Records what the pipeline did.
struct Recorder {
  std::mutex mu;
  std::vector<std::vector<RemoteRevision>> writes;    // each write's documents
  size_t written = 0;                                 // documents whose write finished
  std::vector<std::pair<std::string, size_t>> pages;  // checkpoint, documents written by then
  int running_at_page_end = 0;                        // the most writes running then
  std::atomic<int> running{0};
  std::atomic<int> most_running{0};
  std::chrono::milliseconds write_time{0};

  void write(const std::vector<RemoteRevision>& docs) {
    const int now = ++running;
    int seen = most_running.load();
    while (now > seen && !most_running.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(write_time);
    {
      std::lock_guard lock(mu);
      writes.push_back(docs);
      written += docs.size();
    }
    --running;
  }

  void page_written(const WriteJob& end) {
    std::lock_guard lock(mu);
    running_at_page_end = std::max(running_at_page_end, running.load());
    pages.emplace_back(*end.checkpoint, written);
  }
};

}  // namespace

TEST_CASE("reconciler: write pipeline writes every document and checkpoints after whole pages") {
  Recorder rec;
  rec.write_time = std::chrono::milliseconds(2);
  WritePipeline pipeline(
      8, [&](const std::vector<RemoteRevision>& d) { rec.write(d); },
      [&](const WriteJob& end) { rec.page_written(end); });
  pipeline.start();
  size_t pushed = 0;
  std::vector<size_t> pushed_at_page_end;
  for (int page = 0; page < 5; ++page) {
    for (int c = 0; c < 4; ++c) {
      pipeline.push(chunk(page, c * 2, 2));
      pushed += 2;
    }
    pipeline.push(page_end(page, 8));
    pushed_at_page_end.push_back(pushed);
  }
  pipeline.finish();

  CHECK(rec.written == 40);
  REQUIRE(rec.pages.size() == 5);
  for (size_t i = 0; i < rec.pages.size(); ++i) {
    CHECK(rec.pages[i].first == std::to_string(i));
    // Everything up to the page's end is written, nothing of a later page.
    CHECK(rec.pages[i].second == pushed_at_page_end[i]);
  }
  CHECK(rec.running_at_page_end == 0);
  CHECK(rec.most_running.load() >= 1);
  CHECK(rec.most_running.load() <= static_cast<int>(WritePipeline::kWritesInFlight));
}

TEST_CASE("reconciler: write pipeline runs at most two writes and merges up to half a page") {
  Recorder rec;
  rec.write_time = std::chrono::milliseconds(50);
  WritePipeline pipeline(
      40, [&](const std::vector<RemoteRevision>& d) { rec.write(d); },
      [&](const WriteJob& end) { rec.page_written(end); });
  CHECK(pipeline.max_write_docs() == 20);
  pipeline.start();
  // Small chunks queue up while two writes run: they are merged.
  for (int page = 0; page < 3; ++page) {
    for (int c = 0; c < 20; ++c) pipeline.push(chunk(page, c * 2, 2));
    pipeline.push(page_end(page, 40));
  }
  pipeline.finish();

  CHECK(rec.written == 120);
  CHECK(rec.pages.size() == 3);
  CHECK(rec.most_running.load() == 2);
  bool merged = false;
  for (const auto& w : rec.writes) {
    REQUIRE(!w.empty());
    CHECK(w.size() <= 20);  // half a page at most
    if (w.size() > 2) merged = true;
    // Never across a page's end.
    for (const RemoteRevision& r : w) CHECK(page_of(r) == page_of(w.front()));
  }
  CHECK(merged);
}

TEST_CASE("reconciler: write pipeline gives a chunk larger than half a page one write") {
  Recorder rec;
  WritePipeline pipeline(
      4, [&](const std::vector<RemoteRevision>& d) { rec.write(d); },
      [&](const WriteJob& end) { rec.page_written(end); });
  pipeline.start();
  pipeline.push(chunk(0, 0, 4));
  pipeline.push(page_end(0, 4));
  pipeline.push(page_end(1, 0));  // a page with nothing to write
  pipeline.finish();
  REQUIRE(rec.writes.size() == 1);
  CHECK(rec.writes[0].size() == 4);
  REQUIRE(rec.pages.size() == 2);
  CHECK(rec.pages[1] == std::make_pair(std::string("1"), size_t{4}));
}

TEST_CASE("reconciler: write pipeline stops on a failed write and reports it") {
  std::atomic<int> calls{0};
  std::vector<std::string> checkpoints;
  WritePipeline pipeline(
      4,
      [&](const std::vector<RemoteRevision>& d) {
        if (++calls == 2) throw std::runtime_error("write failed: " + d.front().id);
      },
      [&](const WriteJob& end) { checkpoints.push_back(*end.checkpoint); });
  pipeline.start();
  bool stopped = false;
  try {
    for (int page = 0; page < 100; ++page) {
      pipeline.push(chunk(page, 0, 2));
      pipeline.push(chunk(page, 2, 2));
      pipeline.push(page_end(page, 4));
    }
  } catch (const WriterStopped&) {
    stopped = true;
  }
  CHECK(stopped);
  CHECK_THROWS_WITH_AS(pipeline.finish(), doctest::Contains("write failed"), std::runtime_error);
  // The page with the failed write is never checkpointed.
  CHECK(checkpoints.empty());
}

TEST_CASE("reconciler: write pipeline stops on a failed checkpoint") {
  WritePipeline pipeline(
      4, [](const std::vector<RemoteRevision>&) {},
      [](const WriteJob&) { throw Error(ErrorCode::unavailable, "checkpoint lost"); });
  pipeline.start();
  pipeline.push(chunk(0, 0, 2));
  pipeline.push(page_end(0, 2));
  CHECK_THROWS_AS(pipeline.finish(), Error);
}

TEST_CASE("reconciler: write pipeline ends with RunCancelled once stopped") {
  std::stop_source stop;
  std::atomic<int> writes{0};
  WritePipeline pipeline(
      4, [&](const std::vector<RemoteRevision>&) { ++writes; }, [](const WriteJob&) {},
      stop.get_token());
  pipeline.start();
  stop.request_stop();
  try {
    for (int page = 0; page < 100; ++page) {
      pipeline.push(chunk(page, 0, 2));
      pipeline.push(page_end(page, 2));
    }
  } catch (const WriterStopped&) {
  }
  CHECK_THROWS_AS(pipeline.finish(), RunCancelled);
  CHECK(writes.load() == 0);
}

TEST_CASE("reconciler: a stop request ends sleep_unless_stopped at once") {
  std::stop_source stop;
  CHECK_FALSE(sleep_unless_stopped(stop.get_token(), std::chrono::milliseconds(1)));
  const auto start = std::chrono::steady_clock::now();
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    stop.request_stop();
  });
  CHECK(sleep_unless_stopped(stop.get_token(), std::chrono::seconds(30)));
  stopper.join();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
  // Already stopped: no wait.
  CHECK(sleep_unless_stopped(stop.get_token(), std::chrono::seconds(30)));
}

}  // namespace outpost::test

namespace outpost::test {
namespace {

TEST_CASE("reconciler: write pipeline hands a page's last documents to page_written when asked") {
  // As a replicator into a server does: the last documents of a page go
  // with its checkpoint, written by page_written after every write before.
  Recorder rec;
  std::vector<size_t> handed;  // documents handed with each page end
  std::vector<size_t> written_before;
  WritePipeline pipeline(
      8, [&](const std::vector<RemoteRevision>& d) { rec.write(d); },
      [&](const WriteJob& end) {
        {
          std::lock_guard lock(rec.mu);
          written_before.push_back(rec.written);
          handed.push_back(end.docs.size());
          CHECK(rec.running.load() == 0);
        }
        if (!end.docs.empty()) rec.write(end.docs);
        rec.page_written(end);
      },
      {}, /*last_write_with_end=*/true);
  pipeline.start();
  size_t pushed = 0;
  for (int page = 0; page < 3; ++page) {
    // As the replicator queues a page: its last chunk with its end.
    pipeline.push(chunk(page, 0, 4));
    WriteJob end = page_end(page, 8);
    end.docs = docs_of(page, 4, 4);
    pipeline.push(std::move(end));
    pushed += 8;
  }
  pipeline.finish();
  CHECK(rec.written == pushed);
  REQUIRE(rec.pages.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    // Every document of the page is written by the time it ends, and those
    // handed over were not written by the pipeline too.
    CHECK(rec.pages[i].second == (i + 1) * 8);
    CHECK(written_before[i] + handed[i] == (i + 1) * 8);
  }
  for (size_t n : handed) CHECK(n >= 4);  // each page's end came with its last chunk
}

}  // namespace
}  // namespace outpost::test
