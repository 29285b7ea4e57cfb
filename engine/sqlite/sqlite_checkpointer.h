// SqliteCheckpointer: moves WAL checkpoints off the commit path. SQLite's
// default copies the WAL back into the database file inside the commit that
// pushes the WAL past 1000 pages; for a batch of scattered updates that copy
// costs more than the batch's own writes. Here the writer's commits only
// signal, and a thread with a connection of its own runs PASSIVE
// checkpoints while writers go on. Should the WAL still reach `hard_limit`
// pages (the thread fell behind), the committing writer checkpoints in
// place, so the WAL stays bounded.
// Thread-safety: construct and destroy on the owner's thread; the commit hook
// runs on whichever thread commits on `writer`.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

struct sqlite3;

namespace outpost {

class SqliteConnection;

class SqliteCheckpointer {
 public:
  static constexpr int kStartPages = 1000;   // SQLite's own autocheckpoint size
  static constexpr int kHardLimit = 16000;   // about 64 MB with 4 KiB pages

  // Hooks `writer`'s commits; checkpoints through `own` (a connection to the
  // same file, used by this object's thread only).
  SqliteCheckpointer(sqlite3* writer, std::unique_ptr<SqliteConnection> own);
  // Unhooks the writer, finishes a checkpoint in progress, joins the thread.
  ~SqliteCheckpointer();
  SqliteCheckpointer(const SqliteCheckpointer&) = delete;
  SqliteCheckpointer& operator=(const SqliteCheckpointer&) = delete;

 private:
  static int on_commit(void* self, sqlite3* db, const char* schema, int pages);
  void run();

  sqlite3* writer_;
  std::unique_ptr<SqliteConnection> own_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace outpost
