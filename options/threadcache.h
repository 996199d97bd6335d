// MALLOCOPTIONS=threadcache (spec 3.6; on by default under watson, threadcache:off disables it,
// opt-in under Yorktown): each thread keeps blocks of less than 4096 bytes it may need again, so
// most requests of that size take no heap lock.
//
//   malloc: pop from this thread's list for the size class; when it is empty, take a batch from a
//           heap under one lock acquisition (the first request of a size pre-allocates several).
//   free:   the block goes onto the *freeing* thread's list; when that list passes its limit, half
//           of it goes back to the heaps that own the blocks, again in batches.
//
// A cached block stays allocated as far as its heap knows; its check word says "cached", so a
// second free of it is still reported as a double free. A thread that exits gives everything back.
// The runtime does the heap side (refill, flush) because only it knows the configured stack.
//
// Between the caches and each heap sits the heap's depot (our addition; AIX documents none): a
// batch a thread gives back goes onto the depot of the heap that owns its blocks with one
// compare-and-swap, and a thread refilling from its own heap takes the depot's whole list of the
// class with one exchange, neither taking the heap's lock nor touching its free tree. So the blocks
// a consumer thread frees reach the producer that allocated them in batches, without lock
// contention between the two (the pool does the same for blocks of 512 bytes and less). A depot
// holds at most kDepotBudget bytes; past that, batches go into the heap's free structure under its
// lock, as do the depot's blocks at malloc_trim() and when a thread exits.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "libmalloc/base/block.h"

namespace aixmalloc::tcache {

inline constexpr size_t kLimit = 4096;  // requests below this are cached
inline constexpr unsigned kSmallClasses = 32;  // 16 .. 512 in 16-byte steps
inline constexpr unsigned kClasses = kSmallClasses + (kLimit - 512) / 64;  // then 64-byte steps

// Class of a request (size < kLimit) and the size it is rounded up to.
inline unsigned class_of(size_t size) {
  if (size <= 512) return size == 0 ? 0 : static_cast<unsigned>((size - 1) >> 4);
  return kSmallClasses + static_cast<unsigned>((size - 513) >> 6);
}
inline size_t class_size(unsigned c) {
  return c < kSmallClasses ? (c + 1) * 16 : 512 + (c - kSmallClasses + 1) * 64;
}
// The largest class a block of `usable` bytes can serve (usable >= 16), or kClasses if none fits
// the cache (usable beyond the last class is still cached in the last class).
inline unsigned class_for_block(size_t usable) {
  if (usable >= class_size(kClasses - 1)) return kClasses - 1;
  if (usable <= 512) return static_cast<unsigned>(usable / 16) - 1;
  return kSmallClasses + static_cast<unsigned>((usable - 512) / 64) - 1;
}
// How many blocks of a class a thread keeps before it gives half back: about 16 KiB of a class,
// 4 to 32 blocks; and at most kBudget bytes in all, so a thread that only frees (a consumer) holds
// little memory back from the heaps.
inline unsigned limit_of(unsigned c) {
  size_t n = (size_t{16} << 10) / class_size(c);
  return n < 4 ? 4 : n > 32 ? 32 : static_cast<unsigned>(n);
}
inline constexpr size_t kBudget = size_t{256} << 10;
inline constexpr int64_t kDepotBudget = int64_t{256} << 10;  // per heap

struct Cached {
  Cached* next;
};

// One heap's depot. Lists are pushed a whole chain at a time and taken whole, never popped one
// block at a time, so a compare-and-swap cannot be fooled by a block that left and came back (ABA).
class Depot {
 public:
  // Pushes the chain first..last of n blocks of class c; false (nothing done) when the depot is
  // full. `bytes_` is raised before the push, so a taker never lowers it below zero; concurrent
  // givers may overshoot the budget by a batch each.
  bool give(unsigned c, Cached* first, Cached* last, unsigned n) {
    int64_t add = static_cast<int64_t>(n * class_size(c));
    if (bytes_.load(std::memory_order_relaxed) + add > kDepotBudget) return false;
    bytes_.fetch_add(add, std::memory_order_relaxed);
    Cached* old = head_[c].load(std::memory_order_relaxed);
    do {
      last->next = old;
    } while (!head_[c].compare_exchange_weak(old, first, std::memory_order_release,
                                             std::memory_order_relaxed));
    return true;
  }

  // Takes the whole list of class c (nullptr when empty); *last and *n describe it.
  Cached* take(unsigned c, Cached** last, unsigned* n) {
    if (head_[c].load(std::memory_order_relaxed) == nullptr) return nullptr;
    Cached* first = head_[c].exchange(nullptr, std::memory_order_acquire);
    if (first == nullptr) return nullptr;
    unsigned count = 1;
    Cached* b = first;
    for (; b->next; b = b->next) ++count;
    bytes_.fetch_sub(static_cast<int64_t>(count * class_size(c)), std::memory_order_relaxed);
    *last = b;
    *n = count;
    return first;
  }

  uint64_t bytes() const {
    int64_t b = bytes_.load(std::memory_order_relaxed);
    return b > 0 ? static_cast<uint64_t>(b) : 0;
  }

 private:
  std::atomic<Cached*> head_[kClasses] = {};
  std::atomic<int64_t> bytes_{0};
};

struct ThreadCache {
  Cached* list[kClasses] = {};
  uint32_t count[kClasses] = {};
  size_t bytes = 0;  // in all classes
  uint64_t hits = 0, refills = 0, flushes = 0;
  unsigned home_heap = 0;       // multiheap: the exited owner's heap (index + 1), for the next owner
  ThreadCache* next = nullptr;  // every cache, for statistics
};

// This thread's cache; nullptr until its first cacheable request (or after it exited).
extern __thread ThreadCache* t_cache;

inline void* pop(ThreadCache* tc, unsigned c) {
  Cached* b = tc->list[c];
  if (b == nullptr) return nullptr;
  tc->list[c] = b->next;
  --tc->count[c];
  tc->bytes -= class_size(c);
  ++tc->hits;
  BlockHeader::of(b)->mark_uncached();
  return b;
}

// Returns true when the class is now over its limit and half of it should go back.
inline bool push(ThreadCache* tc, unsigned c, void* p) {
  BlockHeader::of(p)->mark_cached();
  auto* b = static_cast<Cached*>(p);
  b->next = tc->list[c];
  tc->list[c] = b;
  tc->bytes += class_size(c);
  return ++tc->count[c] > limit_of(c) || (tc->bytes > kBudget && tc->count[c] > 1);
}

// Puts a chain of n blocks of class c (from a depot; still marked cached) onto the class list.
inline void adopt(ThreadCache* tc, unsigned c, Cached* first, Cached* last, unsigned n) {
  last->next = tc->list[c];
  tc->list[c] = first;
  tc->count[c] += n;
  tc->bytes += n * class_size(c);
  ++tc->refills;
}

// Takes `n` blocks off the class list (the oldest ones stay), for the caller to give back.
inline Cached* take(ThreadCache* tc, unsigned c, unsigned n) {
  Cached* head = tc->list[c];
  Cached* last = head;
  for (unsigned i = 1; i < n && last->next; ++i) last = last->next;
  tc->list[c] = last->next;
  last->next = nullptr;
  tc->count[c] -= n;
  tc->bytes -= n * class_size(c);
  ++tc->flushes;
  return head;
}

// Attaches a cache to this thread (records reused from exited threads); nullptr when it cannot,
// or while the thread is exiting. `on_exit` runs at thread exit with the cache.
ThreadCache* attach(void (*on_exit)(void*));
// Called by the runtime's exit handler after it gave every block back.
void retire(ThreadCache* tc);

struct Totals {
  uint64_t caches, blocks, bytes, hits, refills, flushes;
  uint64_t depot_bytes;  // in the heaps' depots (filled in by the runtime, which knows the heaps)
};

// pthread_atfork.
void lock_for_fork();
void unlock_after_fork();
void reset_in_child();
// In a child forked without the locks (libmalloc/fork.cpp): the thread leaves its cache (the blocks
// in it stay allocated) and attaches a new one at its next request; the list of spare records is
// emptied if it was caught in a change.
void set_aside_in_child();
void totals(Totals* out);

}  // namespace aixmalloc::tcache
