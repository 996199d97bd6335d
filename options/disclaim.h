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

#include <cstddef>
#include <cstdint>

#include "libmalloc/base/block.h"
#include "libmalloc/base/decay.h"

namespace aixmalloc {

class Disclaimer {
 public:
  // After a free into a free structure of `policy` (merged.size != 0). Returns bytes disclaimed.
  template <class P>
  size_t after_free(P& policy, FreeRange merged) {
    if (merged.size == 0 || !timer_.due()) return 0;
    return policy.disclaim_free();
  }

 private:
  DecayTimer timer_;
};

}  // namespace aixmalloc
