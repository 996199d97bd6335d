// MALLOCOPTIONS=disclaim (spec 5.1): free() gives whole free pages back to the system with
// madvise(MADV_DONTNEED) (they read back as zeros); the free block keeps its place in the tree.
//
// Which pages: those of the merged free block that the freed block touched, never the block's own
// prefix and hooks, so a page is disclaimed when it becomes free, not again on every later merge.
// When: only while the heap holds more free memory than it keeps in reserve, max(4 MiB, a quarter
// of what is in use). A program that frees and reuses the same memory in a loop stays inside the
// reserve and pays no madvise and no page faults. Frees made inside the reserve are counted; once
// the heap goes over it with 1 MiB or more of them pending, one sweep disclaims every free block, so
// a program that frees a lot shrinks to what it still uses.
#pragma once

#include <cstddef>
#include <cstdint>

#include "libmalloc/block.h"
#include "libmalloc/os.h"
#include "libmalloc/platform.h"

namespace aixmalloc {

class Disclaimer {
 public:
  static constexpr size_t kReserveMin = size_t{4} << 20;
  static constexpr size_t kSweepAfter = size_t{1} << 20;

  // After a free. freed: the block just freed; merged: the free block it is now part of; hooks: the
  // bytes at the start of a free block where the policy keeps its links. Returns bytes disclaimed.
  template <class P>
  size_t after_free(P& policy, uintptr_t freed_start, size_t freed_size, FreeRange merged,
                    size_t heap_free, size_t heap_in_use) {
    if (merged.size == 0) return 0;
    size_t reserve = heap_in_use / 4 > kReserveMin ? heap_in_use / 4 : kReserveMin;
    if (heap_free <= reserve) {
      pending_ += freed_size;
      return 0;
    }
    if (pending_ >= kSweepAfter) {
      pending_ = 0;
      return policy.disclaim_free();
    }
    size_t page = page_size();
    uintptr_t lo = merged.start + P::kMinBlock, hi = merged.start + merged.size;
    uintptr_t from = align_down(freed_start, page), to = align_up(freed_start + freed_size, page);
    if (from < lo) from = align_up(lo, page);
    if (to > hi) to = align_down(hi, page);
    if (to <= from) return 0;
    os::disclaim(from, to - from);
    return to - from;
  }

 private:
  size_t pending_ = 0;  // bytes freed inside the reserve, not disclaimed
};

}  // namespace aixmalloc
