// SqliteCheckpointer: moves WAL checkpoints off the commit path. SQLite's
// default copies the WAL back into the database file inside the commit that
// pushes the WAL past 1000 pages; for a batch of scattered updates that copy
// costs more than the batch's own writes. Here:
// - a commit that brings kStartPages new pages since the last request asks
//   a thread, with a connection of its own, for a PASSIVE checkpoint, which
//   runs while writers go on;
// - once the thread has copied all but kFinishPages of the WAL, the next
//   commit copies that rest itself (cheap), so that the transaction after it
//   restarts the WAL from its beginning, as after SQLite's own checkpoints;
// - a commit that finds the WAL at kHardLimit pages (the thread fell behind)
//   checkpoints in place, so the WAL stays bounded.
// Thread-safety: construct and destroy on the owner's thread; the commit
// hook runs on whichever thread commits on `writer`, under the owner's
// writer lock.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

struct sqlite3;

namespace outpost {

class SqliteConnection;

class SqliteCheckpointer {
 public:
  static constexpr int kStartPages = 1000;  // SQLite's own autocheckpoint size
  static constexpr int kFinishPages = 256;  // 1 MiB with 4 KiB pages
  static constexpr int kHardLimit = 16000;  // about 64 MiB

  // Hooks `writer`'s commits; checkpoints through `own` (a connection to the
  // same file, used by this object's thread only).
  SqliteCheckpointer(sqlite3* writer, std::unique_ptr<SqliteConnection> own);
  // Unhooks the writer, finishes a checkpoint in progress, joins the thread.
  ~SqliteCheckpointer();
  SqliteCheckpointer(const SqliteCheckpointer&) = delete;
  SqliteCheckpointer& operator=(const SqliteCheckpointer&) = delete;

 private:
  static int on_commit(void* self, sqlite3* db, const char* schema, int pages);
  void commit_hook(sqlite3* db, int pages);
  void run();

  sqlite3* writer_;
  std::unique_ptr<SqliteConnection> own_;
  // Only commit_hook touches these: the WAL's size at the last commit and
  // the pages added since the last request to the thread.
  int last_pages_ = 0;
  int appended_ = 0;
  // Set by the thread: pages of the WAL copied by its last checkpoint (0:
  // none yet, or the WAL restarted since), and whether one is running.
  std::atomic<int> copied_{0};
  std::atomic<bool> running_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace outpost
