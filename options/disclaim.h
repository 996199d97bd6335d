// MALLOCOPTIONS=disclaim (spec 5.1): free memory goes back to the system with madvise(MADV_DONTNEED)
// (its pages read back as zeros); free blocks keep their place in the tree.
//
// When: once memory has stayed free for about a second. The first free after that gives back every
// whole free page of the heap in one sweep (the policy's disclaim_free(), which keeps each block's
// prefix and links). At the instant of a free, "a program that frees what it no longer needs" and
// "a program that frees its buffers at the end of every round and allocates them again at the start
// of the next" look the same; only time tells them apart. Giving pages back on every free, as AIX's
// text reads, costs the second kind a system call per free and a page fault per page on every
// round (measured: 15 times slower on tools/bench's reuse workload); waiting a second costs it one
// sweep a second, and costs the first kind a second before it shrinks.
#pragma once

#include <time.h>

#include <cstddef>
#include <cstdint>

#include "libmalloc/block.h"

namespace aixmalloc {

class Disclaimer {
 public:
  static constexpr uint64_t kDelayNs = 1'000'000'000;

  // After a free into a free structure of `policy` (merged.size != 0). Returns bytes disclaimed.
  template <class P>
  size_t after_free(P& policy, FreeRange merged) {
    if (merged.size == 0) return 0;
    uint64_t now = now_ns();
    if (dirty_since_ == 0) {
      dirty_since_ = now;
      return 0;
    }
    if (now - dirty_since_ < kDelayNs) return 0;
    dirty_since_ = 0;
    return policy.disclaim_free();
  }

 private:
  // The coarse monotonic clock: read from the vDSO, no system call, a few nanoseconds.
  static uint64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec) + 1;
  }

  uint64_t dirty_since_ = 0;  // when memory first became free since the last sweep; 0: none
};

}  // namespace aixmalloc
