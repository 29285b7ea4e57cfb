// Crash consistency (DESIGN.md sections 5 and 10): a writer process killed
// with SIGKILL in the middle of batched writes leaves a database that opens,
// whose current rows equal the winners of its history, and in which every
// batch is either fully present or fully absent.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <thread>

#include "engine/backends.h"
#include "engine/open.h"

namespace outpost::test {
namespace {

constexpr int kPerBatch = 200;

std::string batch_id(int batch, int i) {
  return "b" + std::to_string(batch) + "-" + std::to_string(i);
}

// The child: batch k creates kPerBatch records and updates every record of
// batch k-1 to size = k, all in one write() call; it never returns.
[[noreturn]] void write_forever(const std::string& url, int ready_fd) {
  try {
    auto engine = open_engine(url);
    std::vector<Revision> previous;
    for (int batch = 0;; ++batch) {
      std::vector<Edit> edits;
      for (int i = 0; i < kPerBatch; ++i) {
        Edit e;
        e.table = "items";
        e.id = batch_id(batch, i);
        e.attributes = item("created in " + std::to_string(batch));
        edits.push_back(std::move(e));
      }
      for (int i = 0; i < static_cast<int>(previous.size()); ++i) {
        Edit e;
        e.table = "items";
        e.id = batch_id(batch - 1, i);
        e.parent = previous[i];
        e.attributes = item("created in " + std::to_string(batch - 1), batch);
        edits.push_back(std::move(e));
      }
      auto results = engine->write(edits);
      previous.clear();
      for (int i = 0; i < kPerBatch; ++i) {
        if (!results[i].ok()) _exit(3);
        previous.push_back(results[i].revision);
      }
      if (batch == 3) {
        char c = 1;
        if (::write(ready_fd, &c, 1) != 1) _exit(4);
      }
    }
  } catch (...) {
    _exit(2);
  }
}

TEST_CASE("crash: SIGKILL during batched writes leaves whole batches and sound winners") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    create_table(engine, items_table());
    uint64_t seed = test_seed();
    INFO("seed " << seed);
    for (int round = 0; round < 3; ++round) {
      CAPTURE(round);
      int fds[2];
      REQUIRE(::pipe(fds) == 0);
      pid_t pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        ::close(fds[0]);
        write_forever(db.url(), fds[1]);
      }
      ::close(fds[1]);
      char c = 0;
      REQUIRE(::read(fds[0], &c, 1) == 1);  // the child committed a few batches
      ::close(fds[0]);
      // Let it run into the middle of a later batch, at a varying point.
      std::this_thread::sleep_for(std::chrono::milliseconds(5 + (seed + round * 37) % 60));
      REQUIRE(::kill(pid, SIGKILL) == 0);
      int status = 0;
      REQUIRE(::waitpid(pid, &status, 0) == pid);
      REQUIRE(WIFSIGNALED(status));

      db.reopen();
      Engine& e = db.engine();
      std::vector<std::string> problems = e.check();
      for (const auto& p : problems) INFO(p);
      CHECK(problems.empty());

      // Group what survived by batch.
      std::map<int, std::vector<Record>> batches;
      for (Record& r : all_records(e, "items")) {
        int batch = std::stoi(r.id.substr(1, r.id.find('-') - 1));
        batches[batch].push_back(std::move(r));
      }
      REQUIRE(!batches.empty());
      int last = batches.rbegin()->first;
      CHECK(batches.size() == static_cast<size_t>(last + 1));
      for (const auto& [batch, records] : batches) {
        CAPTURE(batch);
        CHECK(records.size() == static_cast<size_t>(kPerBatch));
        // Every batch but the newest was updated by the batch after it.
        for (const Record& r : records) {
          auto size = r.attributes.find("size");
          if (batch < last) {
            REQUIRE(size != r.attributes.end());
            CHECK(size->second.as_int() == batch + 1);
          } else {
            CHECK(size == r.attributes.end());
          }
        }
      }
      // Start the next round on a clean table: tombstone everything (the
      // tombstones also make the next round's creates take the recreate path).
      std::vector<Edit> deletes;
      for (const auto& [batch, records] : batches) {
        for (const Record& r : records) {
          Edit d;
          d.kind = Edit::Kind::remove;
          d.table = "items";
          d.id = r.id;
          d.parent = r.revision;
          deletes.push_back(std::move(d));
        }
      }
      for (const WriteResult& w : e.write(deletes)) CHECK(w.ok());
      CHECK(all_records(e, "items").empty());
    }
  });
}

}  // namespace
}  // namespace outpost::test
