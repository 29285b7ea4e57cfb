// Round trips counted by cause, not by clock (Traffic::round_trips).
//
// Every thread carries a causal depth: the number of network round trips,
// one after the other, that led to where it is. A request sent from a
// thread at depth d is at depth d + 1 and, once answered, raises the thread
// to d + 1 (HttpEngine does both). Work handed to another thread starts at
// the sender's depth, and whoever waits for that work takes the deeper of
// the two (join_causal_depth). So requests sent side by side count once,
// however the threads happen to be scheduled, and the depth a thread
// reaches once it has waited for everything is the longest chain of
// requests in which each needed the answer to the one before: what a
// link's latency multiplies.
//
// Thread-safety: each thread has its own depth.
#pragma once

#include <cstdint>

namespace outpost {

uint64_t causal_depth();
void set_causal_depth(uint64_t depth);
// Raises this thread's depth to `depth` if that is deeper.
void join_causal_depth(uint64_t depth);

}  // namespace outpost
