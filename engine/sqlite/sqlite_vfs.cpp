#include "engine/sqlite/sqlite_vfs.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <utility>

namespace outpost {
namespace {

constexpr const char* kVfsName = "outpost";

// ---------------------------------------------------------------- -shm regions
//
// The -shm regions mapped through the VFS, for the SIGBUS handler: fixed
// arrays of atomics, written under a mutex, read by the handler without one.

constexpr int kMaxPaths = 32;
constexpr size_t kMaxPathBytes = 1024;
constexpr int kMaxRegions = 256;

struct PathSlot {
  std::atomic<bool> used{false};
  char path[kMaxPathBytes] = {};
  int users = 0;  // files whose -shm is mapped (under g_registry_mu)
};

struct RegionSlot {
  std::atomic<uintptr_t> begin{0};  // 0: free
  std::atomic<uintptr_t> end{0};
  std::atomic<int> path{-1};
};

PathSlot g_paths[kMaxPaths];
RegionSlot g_regions[kMaxRegions];
std::mutex g_registry_mu;
int g_next_region = 0;  // the slot overwritten when all are taken

// The slot of `path` with one more user, or -1 when the table is full.
int acquire_path(const char* path) {
  std::lock_guard lock(g_registry_mu);
  int free_slot = -1;
  for (int i = 0; i < kMaxPaths; ++i) {
    if (g_paths[i].used.load() && std::strcmp(g_paths[i].path, path) == 0) {
      ++g_paths[i].users;
      return i;
    }
    if (free_slot < 0 && !g_paths[i].used.load()) free_slot = i;
  }
  if (free_slot < 0) return -1;
  PathSlot& slot = g_paths[free_slot];
  std::strncpy(slot.path, path, kMaxPathBytes - 1);
  slot.path[kMaxPathBytes - 1] = '\0';
  slot.users = 1;
  slot.used.store(true);
  return free_slot;
}

// One user fewer; the last one forgets the path's regions (SQLite unmaps a
// -shm file when its last connection in the process lets go).
void release_path(int index) {
  if (index < 0) return;
  std::lock_guard lock(g_registry_mu);
  PathSlot& slot = g_paths[index];
  if (--slot.users > 0) return;
  for (RegionSlot& region : g_regions) {
    if (region.path.load() == index) {
      region.begin.store(0);
      region.end.store(0);
      region.path.store(-1);
    }
  }
  slot.used.store(false);
}

void note_region(uintptr_t begin, uintptr_t end, int path) {
  std::lock_guard lock(g_registry_mu);
  RegionSlot* target = nullptr;
  for (RegionSlot& region : g_regions) {
    if (region.begin.load() == begin) {
      target = &region;
      break;
    }
    if (target == nullptr && region.begin.load() == 0) target = &region;
  }
  if (target == nullptr) {
    target = &g_regions[g_next_region];
    g_next_region = (g_next_region + 1) % kMaxRegions;
  }
  target->begin.store(0);  // invalid while it changes
  target->path.store(path);
  target->end.store(end);
  target->begin.store(begin);
}

// ---------------------------------------------------------------- SIGBUS

void write_all(const char* text) {
  size_t left = std::strlen(text);
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, text, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text += n;
    left -= static_cast<size_t>(n);
  }
}

void on_sigbus(int signal_number, siginfo_t* info, void*) {
  const int saved_errno = errno;
  if (info != nullptr && info->si_code > 0) {  // a fault, not a signal someone sent
    const auto address = reinterpret_cast<uintptr_t>(info->si_addr);
    for (const RegionSlot& region : g_regions) {
      const uintptr_t begin = region.begin.load();
      if (begin == 0 || address < begin || address >= region.end.load()) continue;
      const int path = region.path.load();
      const char* db = path >= 0 && g_paths[path].used.load() ? g_paths[path].path : nullptr;
      write_all("error: disk_full: the disk holding ");
      write_all(db != nullptr ? db : "the database");
      write_all(" is full: SQLite could not extend its shared-memory file ");
      write_all(db != nullptr ? db : "");
      write_all("-shm; free some space and run again; no acknowledged write was lost\n");
      _exit(1);
    }
  }
  // Not ours: the default action. A fault runs the faulting access again on
  // return, which now ends the process; a sent signal is sent again.
  struct sigaction action = {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  sigaction(SIGBUS, &action, nullptr);
  if (info == nullptr || info->si_code <= 0) raise(signal_number);
  errno = saved_errno;
}

// ---------------------------------------------------------------- the VFS

std::atomic<ShmPopulateFn> g_populate{nullptr};
thread_local bool t_shm_full = false;

// Pre-faults [address, address + length) for writing, so that the file
// system allocates every block of it now. 0, or an errno value: EFAULT when
// a store would have raised SIGBUS (the disk is full). Where the kernel
// cannot pre-fault (EINVAL: before Linux 5.14, or a read-only mapping), 0.
int populate_for_writing(void* address, size_t length) {
#if defined(__linux__)
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = reinterpret_cast<uintptr_t>(address) & ~(page - 1);
  const uintptr_t end = reinterpret_cast<uintptr_t>(address) + length;
  if (madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE) == 0) return 0;
  return errno == EFAULT ? EFAULT : 0;
#else
  (void)address;
  (void)length;
  return 0;
#endif
}

sqlite3_vfs* g_real = nullptr;  // the platform's default VFS

// A main database file: the real file follows this header in the same block.
// SQLite allocates the block it hands to xOpen with 8-byte alignment only:
// no member may need more, and the real file that follows the shim
// (shim + 1) must stay 8-byte aligned.
struct ShimFile {
  sqlite3_file base;
  sqlite3_file* real;
  const char* path;  // valid until xClose (SQLite's guarantee for xOpen names)
  int path_slot;     // in g_paths while its -shm is mapped, else -1
};
static_assert(alignof(ShimFile) <= 8 && sizeof(ShimFile) % 8 == 0);

sqlite3_file* real_of(sqlite3_file* file) { return reinterpret_cast<ShimFile*>(file)->real; }
const sqlite3_io_methods* real_methods(sqlite3_file* file) { return real_of(file)->pMethods; }

int shim_close(sqlite3_file* file) {
  auto* shim = reinterpret_cast<ShimFile*>(file);
  release_path(std::exchange(shim->path_slot, -1));
  return real_methods(file)->xClose(shim->real);
}
int shim_read(sqlite3_file* file, void* buffer, int amount, sqlite3_int64 offset) {
  return real_methods(file)->xRead(real_of(file), buffer, amount, offset);
}
int shim_write(sqlite3_file* file, const void* buffer, int amount, sqlite3_int64 offset) {
  return real_methods(file)->xWrite(real_of(file), buffer, amount, offset);
}
int shim_truncate(sqlite3_file* file, sqlite3_int64 size) {
  return real_methods(file)->xTruncate(real_of(file), size);
}
int shim_sync(sqlite3_file* file, int flags) {
  return real_methods(file)->xSync(real_of(file), flags);
}
int shim_file_size(sqlite3_file* file, sqlite3_int64* size) {
  return real_methods(file)->xFileSize(real_of(file), size);
}
int shim_lock(sqlite3_file* file, int level) {
  return real_methods(file)->xLock(real_of(file), level);
}
int shim_unlock(sqlite3_file* file, int level) {
  return real_methods(file)->xUnlock(real_of(file), level);
}
int shim_check_reserved_lock(sqlite3_file* file, int* out) {
  return real_methods(file)->xCheckReservedLock(real_of(file), out);
}
int shim_file_control(sqlite3_file* file, int op, void* arg) {
  return real_methods(file)->xFileControl(real_of(file), op, arg);
}
int shim_sector_size(sqlite3_file* file) { return real_methods(file)->xSectorSize(real_of(file)); }
int shim_device_characteristics(sqlite3_file* file) {
  return real_methods(file)->xDeviceCharacteristics(real_of(file));
}

int shim_shm_map(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  auto* shim = reinterpret_cast<ShimFile*>(file);
  const int rc = real_methods(file)->xShmMap(shim->real, region, size, extend, out);
  if (rc != SQLITE_OK || *out == nullptr) return rc;
  void* address = const_cast<void*>(*out);
  if (shim->path_slot < 0 && shim->path != nullptr) shim->path_slot = acquire_path(shim->path);
  // Without a path slot (more databases open than the table holds) the
  // region is not recorded: it could never be forgotten again.
  if (shim->path_slot >= 0) {
    note_region(reinterpret_cast<uintptr_t>(address),
                reinterpret_cast<uintptr_t>(address) + static_cast<size_t>(size), shim->path_slot);
  }
  ShmPopulateFn populate = g_populate.load();
  if (populate == nullptr) populate = populate_for_writing;
  if (populate(address, static_cast<size_t>(size)) == EFAULT) {
    // Not handed out: SQLite asks again next time, and stores nothing there.
    *out = nullptr;
    t_shm_full = true;
    errno = ENOSPC;
    return SQLITE_FULL;
  }
  t_shm_full = false;
  return SQLITE_OK;
}
int shim_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  return real_methods(file)->xShmLock(real_of(file), offset, n, flags);
}
void shim_shm_barrier(sqlite3_file* file) { real_methods(file)->xShmBarrier(real_of(file)); }
int shim_shm_unmap(sqlite3_file* file, int delete_flag) {
  auto* shim = reinterpret_cast<ShimFile*>(file);
  const int rc = real_methods(file)->xShmUnmap(shim->real, delete_flag);
  release_path(std::exchange(shim->path_slot, -1));
  return rc;
}
int shim_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  if (real_methods(file)->iVersion < 3) {
    *out = nullptr;
    return SQLITE_OK;
  }
  return real_methods(file)->xFetch(real_of(file), offset, amount, out);
}
int shim_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  if (real_methods(file)->iVersion < 3) return SQLITE_OK;
  return real_methods(file)->xUnfetch(real_of(file), offset, page);
}

const sqlite3_io_methods kShimMethods = {
    3,
    shim_close,
    shim_read,
    shim_write,
    shim_truncate,
    shim_sync,
    shim_file_size,
    shim_lock,
    shim_unlock,
    shim_check_reserved_lock,
    shim_file_control,
    shim_sector_size,
    shim_device_characteristics,
    shim_shm_map,
    shim_shm_lock,
    shim_shm_barrier,
    shim_shm_unmap,
    shim_fetch,
    shim_unfetch,
};

// Version 1: no shared memory, no memory-mapped reads.
const sqlite3_io_methods kShimMethodsWithoutShm = [] {
  sqlite3_io_methods methods = kShimMethods;
  methods.iVersion = 1;
  methods.xShmMap = nullptr;
  methods.xShmLock = nullptr;
  methods.xShmBarrier = nullptr;
  methods.xShmUnmap = nullptr;
  methods.xFetch = nullptr;
  methods.xUnfetch = nullptr;
  return methods;
}();

int vfs_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  // Only a main database has a -shm file; the others are the real VFS's
  // files, laid out in place (our szOsFile is larger).
  if ((flags & SQLITE_OPEN_MAIN_DB) == 0)
    return g_real->xOpen(g_real, name, file, flags, out_flags);
  auto* shim = reinterpret_cast<ShimFile*>(file);
  shim->real = reinterpret_cast<sqlite3_file*>(shim + 1);
  shim->path = name;
  shim->path_slot = -1;
  const int rc = g_real->xOpen(g_real, name, shim->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    shim->base.pMethods = nullptr;
    return rc;
  }
  // A real file without shared memory (another default VFS such as
  // unix-none): the shim says so too, so that SQLite never calls xShmMap.
  const sqlite3_io_methods* real = shim->real->pMethods;
  const bool shm = real != nullptr && real->iVersion >= 2 && real->xShmMap != nullptr;
  shim->base.pMethods = shm ? &kShimMethods : &kShimMethodsWithoutShm;
  return rc;
}

// The other methods are the real VFS's, called with the real VFS.
int vfs_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_real->xDelete(g_real, name, sync_dir);
}
int vfs_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_real->xAccess(g_real, name, flags, out);
}
int vfs_full_pathname(sqlite3_vfs*, const char* name, int size, char* out) {
  return g_real->xFullPathname(g_real, name, size, out);
}
void* vfs_dl_open(sqlite3_vfs*, const char* name) { return g_real->xDlOpen(g_real, name); }
void vfs_dl_error(sqlite3_vfs*, int size, char* out) { g_real->xDlError(g_real, size, out); }
void (*vfs_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return g_real->xDlSym(g_real, handle, symbol);
}
void vfs_dl_close(sqlite3_vfs*, void* handle) { g_real->xDlClose(g_real, handle); }
int vfs_randomness(sqlite3_vfs*, int size, char* out) {
  return g_real->xRandomness(g_real, size, out);
}
int vfs_sleep(sqlite3_vfs*, int microseconds) { return g_real->xSleep(g_real, microseconds); }
int vfs_current_time(sqlite3_vfs*, double* out) { return g_real->xCurrentTime(g_real, out); }
int vfs_get_last_error(sqlite3_vfs*, int size, char* out) {
  return g_real->xGetLastError(g_real, size, out);
}
int vfs_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_real->xCurrentTimeInt64(g_real, out);
}
int vfs_set_system_call(sqlite3_vfs*, const char* name, sqlite3_syscall_ptr call) {
  return g_real->xSetSystemCall(g_real, name, call);
}
sqlite3_syscall_ptr vfs_get_system_call(sqlite3_vfs*, const char* name) {
  return g_real->xGetSystemCall(g_real, name);
}
const char* vfs_next_system_call(sqlite3_vfs*, const char* name) {
  return g_real->xNextSystemCall(g_real, name);
}

sqlite3_vfs g_vfs;

const char* register_vfs() {
  sqlite3_initialize();
  g_real = sqlite3_vfs_find(nullptr);
  if (g_real == nullptr) return nullptr;
  g_vfs = sqlite3_vfs{};
  g_vfs.iVersion = g_real->iVersion < 3 ? g_real->iVersion : 3;
  g_vfs.szOsFile = static_cast<int>(sizeof(ShimFile)) + g_real->szOsFile;
  g_vfs.mxPathname = g_real->mxPathname;
  g_vfs.zName = kVfsName;
  g_vfs.xOpen = vfs_open;
  g_vfs.xDelete = vfs_delete;
  g_vfs.xAccess = vfs_access;
  g_vfs.xFullPathname = vfs_full_pathname;
  g_vfs.xDlOpen = vfs_dl_open;
  g_vfs.xDlError = vfs_dl_error;
  g_vfs.xDlSym = vfs_dl_sym;
  g_vfs.xDlClose = vfs_dl_close;
  g_vfs.xRandomness = vfs_randomness;
  g_vfs.xSleep = vfs_sleep;
  g_vfs.xCurrentTime = vfs_current_time;
  g_vfs.xGetLastError = vfs_get_last_error;
  if (g_vfs.iVersion >= 2) g_vfs.xCurrentTimeInt64 = vfs_current_time_int64;
  if (g_vfs.iVersion >= 3) {
    g_vfs.xSetSystemCall = vfs_set_system_call;
    g_vfs.xGetSystemCall = vfs_get_system_call;
    g_vfs.xNextSystemCall = vfs_next_system_call;
  }
  if (sqlite3_vfs_register(&g_vfs, 0) != SQLITE_OK) return nullptr;
  return kVfsName;
}

}  // namespace

const char* sqlite_vfs_name() {
  static const char* const name = register_vfs();  // nullptr: the default VFS
  return name;
}

bool sqlite_shm_was_full() { return std::exchange(t_shm_full, false); }

void install_sqlite_fault_handler() {
  struct sigaction action = {};
  action.sa_sigaction = on_sigbus;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  sigaction(SIGBUS, &action, nullptr);
}

void set_shm_populate_for_testing(ShmPopulateFn populate) { g_populate.store(populate); }

void note_shm_region_for_testing(void* address, size_t length, const std::string& path) {
  const int slot = acquire_path(path.c_str());
  note_region(reinterpret_cast<uintptr_t>(address), reinterpret_cast<uintptr_t>(address) + length,
              slot);
}

void forget_shm_regions_for_testing(const std::string& path) {
  int slot = -1;
  {
    std::lock_guard lock(g_registry_mu);
    for (int i = 0; i < kMaxPaths; ++i) {
      if (g_paths[i].used.load() && path == g_paths[i].path) slot = i;
    }
  }
  release_path(slot);
}

}  // namespace outpost
