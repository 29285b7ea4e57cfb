// Engine conformance suite: concurrency (DESIGN.md section 6, "No skipped
// change", and the Engine's thread-safety contract). Several writers — threads
// sharing one Engine and separate Engines on the same database, as several hub
// servers would — race a reader that checkpoints last_seq; the reader must
// see every change. Concurrent edits of one leaf: exactly one wins.
#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "engine/backends.h"

namespace outpost::test {
namespace {

TEST_CASE("conformance: a reader checkpointing last_seq misses no concurrent change") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    create_table(engine, items_table());
    const int kWriters = 4;
    const int kRecords = 30;  // per writer; each created then updated
    std::vector<std::unique_ptr<Engine>> own;
    for (int w = 0; w < kWriters; ++w) own.push_back(w % 2 ? db.open_another() : nullptr);

    std::atomic<int> writers_done{0};
    std::mutex error_mu;
    std::vector<std::string> errors;
    auto note_error = [&](const std::string& e) {
      std::lock_guard lock(error_mu);
      errors.push_back(e);
    };
    std::map<std::string, Revision> final_revs;
    std::mutex final_mu;

    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        Engine& e = own[w] ? *own[w] : engine;
        try {
          for (int i = 0; i < kRecords; ++i) {
            std::string id = "w" + std::to_string(w) + "-" + std::to_string(i);
            Revision r1 = create(e, "items", id, item(id, 1));
            Revision r2 = update(e, "items", id, r1, item(id, 2));
            std::lock_guard lock(final_mu);
            final_revs[id] = r2;
          }
        } catch (const std::exception& ex) {
          note_error(std::string("writer ") + std::to_string(w) + ": " + ex.what());
        }
        writers_done.fetch_add(1);
      });
    }

    // The reader: short long-polls from its checkpoint, like a replicator.
    std::map<std::string, Revision> seen;
    std::string checkpoint;
    auto read_once = [&](int timeout_ms) {
      ChangesRequest req;
      req.since = checkpoint;
      req.limit = 7;  // small pages: many checkpoints while writers run
      req.timeout_ms = timeout_ms;
      ChangesPage page = engine.changes(req);
      for (const auto& c : page.results) seen[c.id] = c.revision;
      checkpoint = page.last_seq;
      return page.results.size();
    };
    while (writers_done.load() < kWriters) {
      try {
        read_once(50);
      } catch (const std::exception& ex) {
        note_error(std::string("reader: ") + ex.what());
        break;
      }
    }
    for (auto& t : writers) t.join();
    while (read_once(0) > 0) {
    }

    std::string all_errors;
    for (const auto& e : errors) all_errors += e + "\n";
    CHECK_MESSAGE(errors.empty(), all_errors);
    REQUIRE(final_revs.size() == static_cast<size_t>(kWriters * kRecords));
    size_t missing = 0, stale = 0;
    for (const auto& [id, rev] : final_revs) {
      auto it = seen.find(id);
      if (it == seen.end()) {
        ++missing;
      } else if (it->second != rev) {
        ++stale;
      }
    }
    CHECK(missing == 0);  // a record the reader never saw
    CHECK(stale == 0);    // a later change the reader skipped
    CHECK(seen.size() == final_revs.size());
  });
}

TEST_CASE("conformance: concurrent edits of one leaf: exactly one wins, the rest conflict") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    create_table(engine, items_table());
    const int kThreads = 6;
    std::vector<std::unique_ptr<Engine>> engines;
    for (int t = 0; t < kThreads; ++t) engines.push_back(db.open_another());
    for (int round = 0; round < 3; ++round) {
      CAPTURE(round);
      std::string id = "hot" + std::to_string(round);
      Revision base = create(engine, "items", id, item("base"));
      std::atomic<int> ready{0};
      std::vector<std::optional<ErrorCode>> codes(kThreads);
      std::vector<Revision> revs(kThreads);
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
          Engine& e = t % 2 ? *engines[t] : engine;
          ready.fetch_add(1);
          while (ready.load() < kThreads) std::this_thread::yield();
          try {
            revs[t] = update(e, "items", id, base, item("thread " + std::to_string(t)));
          } catch (const Error& err) {
            codes[t] = err.code();
          } catch (const std::exception&) {
            codes[t] = ErrorCode::internal;
          }
        });
      }
      for (auto& th : threads) th.join();
      int ok = 0, conflicts = 0;
      Revision winner;
      for (int t = 0; t < kThreads; ++t) {
        CAPTURE(t);
        if (!codes[t]) {
          ++ok;
          winner = revs[t];
        } else {
          CHECK(codes[t] == ErrorCode::conflict);
          ++conflicts;
        }
      }
      CHECK(ok == 1);
      CHECK(conflicts == kThreads - 1);
      CHECK(leaves_of(engine, "items", id) == std::vector<std::string>{winner.str()});
      CHECK(must_get(engine, "items", id).revision == winner);
    }
  });
}

TEST_CASE("conformance: identical concurrent replicated batches converge without conflict") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    create_table(engine, items_table());
    std::vector<RemoteRevision> batch;
    for (int i = 0; i < 20; ++i) {
      std::string id = "r" + std::to_string(i);
      auto path = offline_chain("items", id, Revision(), 3, "p");
      batch.push_back(remote_of("items", id, path, 2));
    }
    const int kThreads = 4;
    std::vector<std::unique_ptr<Engine>> engines;
    for (int t = 0; t < kThreads; ++t) engines.push_back(db.open_another());
    std::vector<int> failures(kThreads, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        try {
          for (const auto& r : engines[t]->write_replicated(batch)) failures[t] += !r.ok();
        } catch (const std::exception&) {
          failures[t] = -1;
        }
      });
    }
    for (auto& th : threads) th.join();
    for (int t = 0; t < kThreads; ++t) CHECK(failures[t] == 0);
    for (const auto& r : batch) {
      CAPTURE(r.id);
      CHECK(leaves_of(engine, "items", r.id) == std::vector<std::string>{r.revision.str()});
      CHECK(must_get(engine, "items", r.id).attributes == r.attributes);
    }
    CHECK(all_changes(engine).size() == batch.size());
  });
}

}  // namespace
}  // namespace outpost::test
