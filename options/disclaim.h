// MALLOCOPTIONS=disclaim (legacy MALLOCDISCLAIM=true): AIX gives the memory of freed blocks back to
// the system (its pages read back as zeros); free blocks keep their place in the free structure.
// A per-heap layer: it wraps the heap's policy and acts after each release.
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
#include "libmalloc/base/config.h"
#include "libmalloc/base/decay.h"
#include "policies/policy.h"

namespace aixmalloc {

template <HeapPolicy P>
class DisclaimLayer : public P {
 public:
  explicit DisclaimLayer(HeapMemory* memory) : P(memory) {}

  void configure(const Config& c) { on_ = c.enabled(OptionId::kDisclaim); }

  FreeRange release(void* p) {
    FreeRange merged = P::release(p);
    if (on_ && merged.size != 0 && timer_.due()) P::disclaim_free();
    return merged;
  }

 private:
  DecayTimer timer_;
  bool on_ = false;
};

}  // namespace aixmalloc
