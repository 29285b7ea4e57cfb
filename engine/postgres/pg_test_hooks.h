// Test-only hooks into PgStorage (never used by the product).
// Thread-safety: set the hook before the transactions it should affect.
#pragma once

#include <functional>

namespace outpost {

class PgStorage;

// Runs `hook` inside every write transaction of `storage` just before
// COMMIT, after its rows were written (so it holds its xid and seqs). The
// hook may block (to hold the transaction open) or throw (the transaction
// then rolls back and the error reaches the caller). nullptr removes it.
void set_before_commit_hook_for_testing(PgStorage& storage, std::function<void()> hook);

// Runs `hook` after every write transaction of `storage` has committed. A
// hook that throws RetryableError stands for a connection lost while the
// COMMIT's answer was on its way: the data is stored, the caller is told
// the outcome is unknown (and runs the transaction again).
void set_after_commit_hook_for_testing(PgStorage& storage, std::function<void()> hook);

}  // namespace outpost
