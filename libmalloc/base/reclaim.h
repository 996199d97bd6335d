// Memory one part of the allocator keeps for reuse, given back when another part grows. The heaps
// keep freed memory resident (disclaim's reserve, options/disclaim.h) and watson2 keeps empty pages
// resident (policies/watson2_pages.cpp), each in an area of its own that the other cannot use. A
// program that frees large buffers and then builds many small objects (sqlite3 sorting, then
// filling its page cache) would otherwise hold both at once: the process's peak would be the sum
// of each part's busiest moment, where one heap, as glibc's, reuses the same pages. So, when one
// part is about to take fresh memory from the system, what the other keeps goes back first.
//
// Each part that keeps memory has a Keeper: `keeping` says there is something to give back (a
// relaxed load, the only cost when there is not), `give_back` gives it: at least `want` bytes, what
// the growing part is about to take, where it can (the heaps give back about that much, the end of
// their free memory they reuse last, and keep the rest for themselves: one heap, as glibc's, would
// have lent the growing part as much and kept the rest too); all it keeps, where it cannot.
// give_back only takes locks it finds free at once (try_lock): the part that grows may hold a lock
// of its own, and the order between the two parts' locks is never fixed.
//
// What the keeper gave back was resident a moment before, and a heap that grows is about to touch
// as much: it takes up to that much of its growth with one madvise(MADV_POPULATE_WRITE) rather than
// a page fault a page (Handover). A fault costs 10-11 us a page on a virtual machine with shadow
// page tables, populating and then touching 5-6; the process's resident size goes no higher than it
// was before the give-back. watson2 does not populate its fresh pages so: a class may never fill
// one, and its blocks are carved as they are used.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "libmalloc/base/os.h"

namespace aixmalloc::reclaim {

struct Keeper {
  std::atomic<bool> keeping{false};
  void* self = nullptr;
  size_t (*give_back)(void* self, size_t want) = nullptr;  // the bytes it gave back
};

inline constinit Keeper heaps;  // freed memory the heaps keep resident (options/disclaim.h)
inline constinit Keeper pages;  // watson2's empty pages of no heap, still resident

// The part that is not `keeper` is about to take `want` bytes of fresh memory: `keeper` gives back
// what it keeps, or that much of it. The bytes it gave back.
inline size_t before_growth(Keeper& keeper, size_t want) {
  if (!keeper.keeping.load(std::memory_order_relaxed)) return 0;
  if (auto* give = keeper.give_back) return give(keeper.self, want);
  return 0;
}

// The growing part's account of what was handed over to it, under its own lock: bytes it may
// populate, for a second after the give-back (later, the program is in another phase).
class Handover {
 public:
  static constexpr uint64_t kDelayNs = 1'000'000'000;

  void add(size_t bytes) {
    if (bytes == 0) return;
    uint64_t now = os::now_ns();
    if (now > until_) budget_ = 0;
    budget_ += bytes;
    until_ = now + kDelayNs;
  }
  // Of `want` bytes of fresh memory about to be touched, how many to populate now.
  size_t take(size_t want) {
    if (budget_ == 0) return 0;
    if (os::now_ns() > until_) {
      budget_ = 0;
      return 0;
    }
    size_t n = want < budget_ ? want : budget_;
    budget_ -= n;
    return n;
  }

 private:
  size_t budget_ = 0;
  uint64_t until_ = 0;
};

}  // namespace aixmalloc::reclaim
