// WAL checkpoints of the SQLite backend run on a thread of their own
// (engine/sqlite/sqlite_checkpointer.h): the WAL is still copied back into
// the database file while the database stays open, and it stays bounded
// however much is written.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "engine/backends.h"
#include "engine/open.h"
#include "engine/sqlite/sqlite_checkpointer.h"

namespace outpost::test {
namespace {

namespace fs = std::filesystem;

uintmax_t size_of(const fs::path& file) {
  std::error_code ec;
  const uintmax_t n = fs::file_size(file, ec);
  return ec ? 0 : n;
}

TEST_CASE("sqlite: the WAL is checkpointed in the background and stays bounded") {
  constexpr int kBatches = 40;
  constexpr int kPerBatch = 500;
  std::string pattern = (fs::temp_directory_path() / "outpost-wal-XXXXXX").string();
  REQUIRE(mkdtemp(pattern.data()) != nullptr);
  const fs::path dir = pattern;
  const fs::path file = dir / "device.db";
  const fs::path wal = dir / "device.db-wal";
  {
    auto engine = open_engine("sqlite:" + file.string());
    create_table(*engine, items_table());
    const uintmax_t empty = size_of(file);
    // Bulky records, so that each batch adds a few hundred WAL pages.
    const std::string filler(900, 'x');
    // A WAL page is a 4 KiB page plus a 24-byte frame header; one batch can
    // land on top of the limit before the commit that crosses it checks.
    const uintmax_t bound = static_cast<uintmax_t>(SqliteCheckpointer::kHardLimit) * 4120 +
                            static_cast<uintmax_t>(kPerBatch) * 4 * 4120;
    for (int b = 0; b < kBatches; ++b) {
      std::vector<Edit> edits;
      for (int i = 0; i < kPerBatch; ++i) {
        Edit e;
        e.table = "items";
        e.id = "r" + std::to_string(b) + "-" + std::to_string(i);
        e.attributes = item(filler + e.id, i);
        edits.push_back(std::move(e));
      }
      for (const WriteResult& r : engine->write(edits)) REQUIRE(r.ok());
      CHECK(size_of(wal) <= bound);
    }
    // With the database still open, its file receives the records: wait
    // (generously; the machine may be busy) for the copy to happen.
    const uintmax_t written = static_cast<uintmax_t>(kBatches) * kPerBatch * 900;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (size_of(file) < empty + written && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(size_of(file) >= empty + written);
    CHECK(all_records(*engine, "items").size() == kBatches * kPerBatch);
  }
  // Reopened: everything is there.
  auto again = open_engine("sqlite:" + file.string());
  CHECK(all_records(*again, "items").size() == kBatches * kPerBatch);
  again.reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace outpost::test
