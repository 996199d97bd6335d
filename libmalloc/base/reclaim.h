// Memory one part of the allocator keeps for reuse, given back when another part grows. The heaps
// keep freed memory resident (disclaim's reserve, options/disclaim.h) and watson2 keeps empty pages
// resident (policies/watson2_pages.cpp), each in an area of its own that the other cannot use. A
// program that frees large buffers and then builds many small objects (sqlite3 sorting, then
// filling its page cache) would otherwise hold both at once: the process's peak would be the sum
// of each part's busiest moment, where one heap, as glibc's, reuses the same pages. So, when one
// part is about to take fresh memory from the system, what the other keeps goes back first.
//
// Each part that keeps memory has a Keeper: `keeping` says there is something to give back (a
// relaxed load, the only cost when there is not), `give_back` gives it. give_back only takes locks
// it finds free at once (try_lock): the part that grows may hold a lock of its own, and the order
// between the two parts' locks is never fixed.
#pragma once

#include <atomic>

namespace aixmalloc::reclaim {

struct Keeper {
  std::atomic<bool> keeping{false};
  void* self = nullptr;
  void (*give_back)(void* self) = nullptr;
};

inline constinit Keeper heaps;  // freed memory the heaps keep resident (options/disclaim.h)
inline constinit Keeper pages;  // watson2's empty pages of no heap, still resident

// The part that is not `keeper` is about to take fresh memory: `keeper` gives back what it keeps.
inline void before_growth(Keeper& keeper) {
  if (!keeper.keeping.load(std::memory_order_relaxed)) return;
  if (auto* give = keeper.give_back) give(keeper.self);
}

}  // namespace aixmalloc::reclaim
