// The SQLite VFS outpost opens its files through, and what it does about a
// full disk under SQLite's WAL shared-memory file (DESIGN.md section 10,
// docs/operations.md "When the disk is full").
//
// SQLite maps the WAL index (the "-shm" file) into memory. It grows that
// file by writing one byte at the end of each 4 KiB page, so on a file
// system with smaller blocks (ext4 with 1 KiB blocks) the other blocks of
// the page stay unallocated; when the disk is full, the first store into one
// of them through the mapping raises SIGBUS and the process dies without a
// word. The "outpost" VFS is the platform's default VFS with one change: each
// -shm region SQLite maps is pre-faulted for writing (Linux
// MADV_POPULATE_WRITE), which makes the file system allocate every block
// then; when it cannot, the mapping fails with SQLITE_FULL, which
// throw_sqlite_error reports as disk_full. Where the kernel cannot pre-fault
// (before Linux 5.14, other systems), install_sqlite_fault_handler() turns
// the SIGBUS into one clear line on stderr and exit status 1.
//
// Thread-safety: every function may be called from any thread.
#pragma once

#include <cstddef>
#include <string>

namespace outpost {

// The name of the VFS to open SQLite files with (registered on first use).
const char* sqlite_vfs_name();

// Whether the last -shm region the outpost VFS mapped on this thread could
// not be allocated (the disk is full); clears that note.
bool sqlite_shm_was_full();

// Installs a SIGBUS handler for the whole process: a fault inside a -shm
// region the outpost VFS mapped writes
//   error: disk_full: the disk holding DB is full: SQLite could not extend
//   its shared-memory file DB-shm; free some space and run again; no
//   acknowledged write was lost
// to stderr (write(2) only) and ends the process with _exit(1); any other
// SIGBUS keeps its default action. For main(): call once, early.
void install_sqlite_fault_handler();

// Test hooks (never used by the product).
// Replaces how a mapped -shm region is pre-faulted for writing: `populate`
// returns 0 or an errno value (EFAULT: the disk is full). nullptr restores
// the real one.
using ShmPopulateFn = int (*)(void* address, size_t length);
void set_shm_populate_for_testing(ShmPopulateFn populate);
// Records [address, address + length) as a -shm region of database `path`,
// as the VFS does for each region it maps.
void note_shm_region_for_testing(void* address, size_t length, const std::string& path);
// Forgets the regions noted for `path` by note_shm_region_for_testing.
void forget_shm_regions_for_testing(const std::string& path);

}  // namespace outpost
