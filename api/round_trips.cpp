#include "api/round_trips.h"

namespace outpost {

namespace {

thread_local uint64_t depth_of_thread = 0;

}  // namespace

uint64_t causal_depth() { return depth_of_thread; }

void set_causal_depth(uint64_t depth) { depth_of_thread = depth; }

void join_causal_depth(uint64_t depth) {
  if (depth > depth_of_thread) depth_of_thread = depth;
}

}  // namespace outpost
