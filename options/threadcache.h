// MALLOCOPTIONS=threadcache (on by default under watson, as on AIX; threadcache:off disables it;
// opt-in under Yorktown): each thread keeps blocks of less than 4096 bytes it may need again, so
// most requests of that size take no heap lock.
//
//   malloc: pop from this thread's list for the size class; when it is empty, take a batch from a
//           heap under one lock acquisition (the first of a size is one block, later ones more).
//   free:   the block goes onto the *freeing* thread's list; when that list passes its limit, half
//           of it goes back to the heaps that own the blocks, again in batches.
//
// What a thread keeps is bounded by what it allocates, not by what it frees (our rule; AIX documents
// none). Every kScavengeEvery bytes freed into a cache that holds more than kScavengeFloor, each
// list gives back the blocks that stayed at its bottom, unused, since the last such look (the
// fewest it held in between). So a thread that frees blocks of sizes it does not allocate again
// soon (a consumer; any thread of a ring that hands its blocks to the next) keeps about 100 KiB of
// them, not its whole budget: the rest go onto the depots of their heaps, one batch per heap and
// size, where the threads that allocated them take them back. A thread's first batch of a size from
// a heap is one block; each further one doubles, up to half the list's limit, and falls back to
// one when the size's blocks went unused. (Measured on tools/bench's xfree_wide, four threads in a
// ring, under pool,multiheap: the caches held 800 KiB in all and the peak RSS was 9.4-9.9 MiB, now
// 250-320 KiB and 8.6-9.1 MiB, glibc's 6.3 MiB; callgrind counts 4% more instructions for the
// ring and for bench_phases, less than 1% elsewhere: blocks given back and taken again.)
//
// A cached block stays allocated as far as its heap knows; its check word says "cached", so a
// second free of it is still reported as a double free. A thread that exits gives everything back.
// ThreadCacheLayer, at the end of this file, wraps the heaps below it and does the heap side
// (refill, flush) through their batch calls.
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
#include <cstring>

#include "libmalloc/base/address_map.h"
#include "libmalloc/base/block.h"
#include "libmalloc/base/config.h"
#include "libmalloc/base/lock.h"
#include "libmalloc/base/platform.h"
#include "libmalloc/base/thread_exit.h"
#include "libmalloc/base/statistics.h"

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
// 4 to 32 blocks; and at most kBudget bytes in all (checked at each scavenge), so a thread that only
// frees (a consumer) holds little memory back from the heaps.
inline unsigned limit_of(unsigned c) {
  size_t n = (size_t{16} << 10) / class_size(c);
  return n < 4 ? 4 : n > 32 ? 32 : static_cast<unsigned>(n);
}
inline constexpr size_t kBudget = size_t{256} << 10;
inline constexpr int64_t kDepotBudget = int64_t{256} << 10;  // per heap
// Bytes freed into a cache between two scavenges (the look at what its lists did not use); a cache
// holding no more than kScavengeFloor is left as it is (too little to give back to be worth a look).
inline constexpr size_t kScavengeEvery = size_t{32} << 10;
inline constexpr size_t kScavengeFloor = size_t{64} << 10;
static_assert(kClasses % 8 == 0, "scavenge() reads the held flags 8 at a time");
static_assert(kMaxHeaps <= 32, "give_back_idle() keeps the heaps it met in 32 bits");

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
  // The fewest blocks each list held since the last scavenge: its bottom low[c] blocks went unused.
  uint32_t low[kClasses] = {};
  uint8_t batch[kClasses] = {};  // blocks the next batch from a heap takes (0: one)
  uint8_t held[kClasses] = {};   // the list may hold blocks: the lists a scavenge looks at
  size_t bytes = 0;  // in all classes
  size_t freed = 0;  // bytes freed into the cache since the last scavenge
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
  uint32_t n = --tc->count[c];
  if (n < tc->low[c]) tc->low[c] = n;
  tc->bytes -= class_size(c);
  ++tc->hits;
  BlockHeader::of(b)->mark_uncached();
  return b;
}

// Puts a block of class c onto the class list; true when the list is now over its limit.
inline bool link(ThreadCache* tc, unsigned c, void* p) {
  BlockHeader::of(p)->mark_cached();
  auto* b = static_cast<Cached*>(p);
  b->next = tc->list[c];
  tc->list[c] = b;
  tc->held[c] = 1;
  tc->bytes += class_size(c);
  return ++tc->count[c] > limit_of(c);
}

// A block the program frees: returns true when the class is now over its limit and half of it
// should go back.
inline bool push(ThreadCache* tc, unsigned c, void* p) {
  tc->freed += class_size(c);
  return link(tc, c, p);
}

// Puts a chain of n blocks of class c (from a depot; still marked cached) onto the class list.
inline void adopt(ThreadCache* tc, unsigned c, Cached* first, Cached* last, unsigned n) {
  last->next = tc->list[c];
  tc->list[c] = first;
  tc->count[c] += n;
  tc->bytes += n * class_size(c);
  tc->held[c] = 1;
  ++tc->refills;
}

// The counts after `n` blocks of class `c` left the cache for their heaps.
inline void count_taken(ThreadCache* tc, unsigned c, unsigned n) {
  tc->count[c] -= n;
  tc->bytes -= n * class_size(c);
  if (tc->low[c] > tc->count[c]) tc->low[c] = tc->count[c];
  ++tc->flushes;
}

// Takes the newest `n` blocks off the class list, for the caller to give back.
inline Cached* take(ThreadCache* tc, unsigned c, unsigned n) {
  Cached* head = tc->list[c];
  Cached* last = head;
  for (unsigned i = 1; i < n && last->next; ++i) last = last->next;
  tc->list[c] = last->next;
  last->next = nullptr;
  count_taken(tc, c, n);
  return head;
}

// Takes the oldest `n` blocks (n <= count) off the class list: the ones at its bottom.
inline Cached* take_oldest(ThreadCache* tc, unsigned c, unsigned n) {
  if (n == tc->count[c]) return take(tc, c, n);
  Cached* keep = tc->list[c];
  for (unsigned i = 1; i < tc->count[c] - n; ++i) keep = keep->next;
  Cached* oldest = keep->next;
  keep->next = nullptr;
  count_taken(tc, c, n);
  return oldest;
}

// Attaches a cache to this thread (records reused from exited threads); nullptr when it cannot,
// or once the thread's exit has begun (libmalloc/base/thread_exit.h).
ThreadCache* attach();
// Called by the layer's exit hook after it gave every block back.
void retire(ThreadCache* tc);

// The lock of the list of cache records, taken at fork.
Lock& fork_lock();
// In a child forked without the locks (libmalloc/fork.cpp): the thread leaves its cache (the blocks
// in it stay allocated) and attaches a new one at its next request; the list of spare records is
// emptied if it was caught in a change.
void set_aside_in_child();
// Every cache summed (the layer adds its depots' bytes).
void totals(ThreadCacheFigures* out);
// The depots of a stack's layer, kMaxHeaps of them, empty (libmalloc/base/meta.h, claim_room);
// nullptr when the OS refuses.
Depot* depot_room();


// The layer: requests under kLimit from this thread's cache; heap blocks freed into it. Next is the
// heaps (options/multiheap.h), whose batch calls it uses; the depots, one per heap, are its own.
template <class Next>
class ThreadCacheLayer : public LockedAtFork<Next, fork_lock, set_aside_in_child> {
 public:
  void configure(const Config& c) {
    on_ = c.enabled(OptionId::kThreadcache) && thread_exit::add_hook(on_thread_exit);
    if (on_ && depots_ == nullptr) on_ = (depots_ = depot_room()) != nullptr;
    self_ = this;
    Next::configure(c);
  }

  void* allocate(size_t size, size_t align) {
    if (on_ && size < kLimit && align == kAlignment) {
      if (void* p = cache_allocate(size)) return p;
    }
    return Next::allocate(size, align);
  }

  void release(void* p, Owner o, const char* call) {
    if (on_ && o.kind() == OwnerKind::kHeap && cache_release(p)) return;
    Next::release(p, o, call);
  }

  // malloc_trim: the depots' blocks go back into their heaps' free structures first.
  size_t trim() {
    for (unsigned i = 0; depots_ && i < Next::heap_count(); ++i) {
      for (unsigned c = 0; c < kClasses; ++c) {
        Cached* last;
        unsigned n;
        if (Cached* first = depots_[i].take(c, &last, &n)) give_back(i, first);
      }
    }
    return Next::trim();
  }

  // Blocks in a depot are free to the program, though their heap counts them as allocated.
  void statistics(Statistics& f) {
    Next::statistics(f);
    if (!on_) return;
    totals(&f.cache);
    for (unsigned i = 0; i < f.heaps; ++i) {
      f.heap[i].free_bytes += depots_[i].bytes();
      f.cache.depot_bytes += depots_[i].bytes();
    }
    f.has_cache = 1;
  }


 private:
  [[gnu::noinline]] ThreadCache* attach_thread() {
    ThreadCache* tc = attach();
    if (tc && tc->home_heap) Next::inherit_thread_home(tc->home_heap);
    return tc;
  }

  void* cache_allocate(size_t size) {
    ThreadCache* tc = t_cache;
    if (tc == nullptr && (tc = attach_thread()) == nullptr) return nullptr;
    unsigned c = class_of(size);
    if (void* p = pop(tc, c)) return p;
    if (!refill(tc, c)) return nullptr;
    return pop(tc, c);
  }

  // A batch of blocks of class c onto this thread's list: the whole list of the class from its
  // heap's depot when there is one (no lock), or else tc->batch[c] blocks from the heap under one
  // lock, doubling the next batch (up to half the list's limit).
  [[gnu::noinline]] bool refill(ThreadCache* tc, unsigned c) {
    Depot& d = depots_[Next::own_heap()];
    Cached* last;
    unsigned n;
    if (Cached* first = d.take(c, &last, &n)) {
      adopt(tc, c, first, last, n);
      return true;
    }
    unsigned want = tc->batch[c] ? tc->batch[c] : 1, most = limit_of(c) / 2;
    unsigned got = Next::allocate_batch(class_size(c), want, [&](void* p) { link(tc, c, p); });
    tc->batch[c] = static_cast<uint8_t>(2 * want < most ? 2 * want : most);
    ++tc->refills;
    return got > 0;
  }

  // A heap block freed into this thread's cache, when it is a valid, cacheable one. Reading the
  // prefix without the heap's lock is safe: an allocated block's prefix changes only when its
  // owner, the caller, frees or resizes it. Anything doubtful goes the locked way, which reports
  // misuse.
  bool cache_release(void* p) {
    if (!prefix_mapped(p)) return false;
    const BlockHeader* h = BlockHeader::of(p);
    if (!h->valid_in_use() || h->size() - kHeaderSize >= kLimit + 64) return false;
    ThreadCache* tc = t_cache;
    if (tc == nullptr && (tc = attach_thread()) == nullptr) return false;
    unsigned c = class_for_block(h->size() - kHeaderSize);
    if (push(tc, c, p)) {
      flush(take(tc, c, tc->count[c] / 2), c, true);
    } else if (tc->freed > kScavengeEvery) {
      if (tc->bytes > kScavengeFloor) {
        scavenge(tc);
      } else {
        tc->freed = 0;  // low[] keeps counting from the last scavenge
      }
    }
    return true;
  }

  // Every list gives back the blocks that went unused since the last scavenge (its bottom low[c]),
  // each heap's onto its depot in one batch, or into its free structure when the depot is full
  // (one lock acquisition per heap for all classes); the size's next batch from a heap is one
  // block again. If the cache still holds more than kBudget, every list gives half of what is left.
  [[gnu::noinline]] void scavenge(ThreadCache* tc) {
    tc->freed = 0;
    Cached* to_heap[kMaxHeaps] = {};
    for (unsigned w = 0; w < kClasses; w += 8) {
      uint64_t any;
      memcpy(&any, &tc->held[w], sizeof any);
      if (any == 0) continue;
      for (unsigned c = w; c < w + 8; ++c) {
        if (!tc->held[c]) continue;
        if (unsigned idle = tc->low[c]) {
          tc->batch[c] = 0;
          give_back_idle(take_oldest(tc, c, idle), c, to_heap);
        }
        tc->low[c] = tc->count[c];
        tc->held[c] = tc->count[c] != 0;
      }
    }
    for (unsigned i = 0; i < kMaxHeaps; ++i)
      if (to_heap[i]) give_back(i, to_heap[i]);
    if (tc->bytes <= kBudget) return;
    for (unsigned c = 0; c < kClasses; ++c)
      if (tc->count[c] > 1) flush(take(tc, c, tc->count[c] / 2), c, true);
  }

  // Sorts a chain of blocks of class c by heap; each heap's run goes onto its depot, or onto
  // to_heap[heap] (for its free structure) when the depot is full.
  void give_back_idle(Cached* list, unsigned c, Cached** to_heap) {
    Cached* first[kMaxHeaps];
    Cached* last[kMaxHeaps];
    unsigned n[kMaxHeaps];
    uint32_t heaps = 0;
    while (list) {
      Cached* next = list->next;
      unsigned heap = heap_of(list);
      uint32_t bit = uint32_t{1} << heap;
      if (!(heaps & bit)) {
        heaps |= bit;
        first[heap] = last[heap] = nullptr;
        n[heap] = 0;
      }
      list->next = first[heap];
      first[heap] = list;
      if (last[heap] == nullptr) last[heap] = list;
      ++n[heap];
      list = next;
    }
    for (; heaps; heaps &= heaps - 1) {
      unsigned heap = static_cast<unsigned>(__builtin_ctz(heaps));
      if (depots_[heap].give(c, first[heap], last[heap], n[heap])) continue;
      last[heap]->next = to_heap[heap];
      to_heap[heap] = first[heap];
    }
  }

  // Gives a list of cached blocks of class c back to the heaps that own them, a run of one heap's
  // blocks at a time: onto its depot when `to_depot` and it has room, or else into its free
  // structure under one acquisition of its lock.
  [[gnu::noinline]] void flush(Cached* list, unsigned c, bool to_depot) {
    while (list) {
      unsigned heap = heap_of(list);
      Cached* last = list;
      unsigned n = 1;
      while (last->next && heap_of(last->next) == heap) {
        last = last->next;
        ++n;
      }
      Cached* rest = last->next;
      if (!to_depot || !depots_[heap].give(c, list, last, n)) {
        last->next = nullptr;
        give_back(heap, list);
      }
      list = rest;
    }
  }

  // A chain of cached blocks of one heap back into its free structure.
  void give_back(unsigned heap, Cached* list) {
    Next::release_batch(heap, [list](auto release) mutable {
      while (list) {
        Cached* next = list->next;
        BlockHeader::of(list)->mark_uncached();
        release(list);
        list = next;
      }
    });
  }

  unsigned heap_of(const void* p) { return Next::heap_index(address_map().lookup(p)); }

  // At thread exit every cached block goes back to its heap, and the thread's heap is kept for
  // the thread that takes this cache over.
  static void on_thread_exit() {
    ThreadCache* tc = t_cache;
    if (tc == nullptr) return;
    tc->home_heap = self_->thread_home();
    for (unsigned c = 0; c < kClasses; ++c) {
      if (tc->count[c] == 0) continue;
      self_->flush(take(tc, c, tc->count[c]), c, false);
    }
    retire(tc);
  }

  static inline ThreadCacheLayer* self_ = nullptr;  // the configured stack's layer, for thread exit
  Depot* depots_ = nullptr;  // kMaxHeaps of them, from the first configure() that turns the layer on
  bool on_ = false;
};

}  // namespace aixmalloc::tcache
