// MALLOCOPTIONS=pool[:max_size]: as on AIX, requests of 512 bytes or less come from per-thread
// pools of size classes, with no lock, no atomic read-modify-write and no indirect call on the way.
//
//   pool area (one range):  | page | page | page | ...... | used top | reserved | ... room, unmapped ... |
//   page (64 KiB, one class, one owner):  | PoolPage header | block | block | ... | bump ... end |
//
// A pointer is a pool block when it lies below the used top of the pool area (one subtract and one
// compare); its page header is the address rounded down to 64 KiB, so blocks need no prefix. The
// area stays one range by growing in place: it starts as a 4 MiB reservation at the bottom of a
// zone of its own (libmalloc/base/zones.h) and, when its pages are all used, extends the
// reservation upwards, doubling it (up to 1 GiB at a time), so the ownership test never changes.
// When the addresses above cannot be had, the pool is full, as when max_size is reached. Each
// thread's ThreadPool keeps a LIFO free list per class; malloc pops, free pushes when the block's
// page belongs to the calling thread's pool. A block freed by another thread goes onto its owner's
// atomic "remote" stack, which the owner drains when a list runs dry. When a thread exits its pool
// is orphaned with everything in it and the next new thread adopts it. max_size caps the bytes of
// pool pages; past it, small requests fall through to the back end.
//
// A page is not tied to its class for life: each page counts the blocks it has out (`used`, kept
// by the owning thread only: remote frees count when the owner takes them back). When enough of a
// thread's pages have emptied and it needs a new page, it sweeps its free lists once, takes the
// blocks of empty pages off them and keeps those pages as spares, which any class then reuses
// before the area grows (pages kept spare beyond a few are given back to the system). So a
// program whose small objects change size from one phase to the next reuses the same memory.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "libmalloc/base/address_map.h"
#include "libmalloc/base/config.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/format.h"
#include "libmalloc/base/lock.h"
#include "libmalloc/base/platform.h"
#include "libmalloc/base/statistics.h"
#include "libmalloc/base/zones.h"

namespace aixmalloc::pool {

inline constexpr size_t kMaxRequest = 512;
inline constexpr size_t kPageShift = 16;
inline constexpr size_t kPageSize = size_t{1} << kPageShift;
inline constexpr unsigned kClasses = 16;

struct ClassCounters {
  uint64_t allocations = 0;
  uint64_t frees = 0;         // by the owning thread
  uint64_t remote_frees = 0;  // by another thread, counted when the owner takes them back
};

struct FreeBlock {
  FreeBlock* next;
};

struct ThreadPool;

struct alignas(64) PoolPage {
  ThreadPool* owner;
  uint32_t cls;
  uint32_t block_size;
  uintptr_t bump;  // next never-used block
  uintptr_t end;
  // Block-start check without a division: offset o (from the first block, wrapping below it) is
  // k blocks with 0 <= k <= limit iff rotr(o * inverse, shift) <= limit, where the block size is
  // 2^shift * odd and inverse * odd == 1 (mod 2^64): multiplying by an odd number and rotating are
  // both one-to-one, and k * size maps to k, so no other offset lands on 0..limit.
  uint32_t shift;
  uint32_t used;  // blocks handed out and not yet back with the owner
  uint64_t inverse;
  uint64_t limit;
  PoolPage* next_spare;  // in the owner's spare pages
  static constexpr size_t kHeader = 64;
  uintptr_t first() const { return reinterpret_cast<uintptr_t>(this) + kHeader; }
};
static_assert(sizeof(PoolPage) == 64);

struct ThreadPool {
  FreeBlock* free[kClasses] = {};
  PoolPage* current[kClasses] = {};
  ClassCounters counters[kClasses];
  std::atomic<FreeBlock*> remote{nullptr};
  uint64_t pages = 0;
  uint64_t slow_calls = 0;  // times the fast path had to leave
  uint64_t emptied = 0;     // pages whose last block came back since the last sweep (a hint)
  PoolPage* spare = nullptr;  // empty pages, for any class
  uint64_t spares = 0;
  uint64_t recycled = 0;      // pages reused for a class (the same or another)
  ThreadPool* next_pool = nullptr;    // every pool, for statistics
  ThreadPool* next_orphan = nullptr;  // pools of exited threads waiting to be adopted
};

// Process-wide state, written once at start-up (and when max_size is reached, not at all).
// base, reserved (grows under the pool's lock), room (its zone, or max_size): zones.h.
struct Area : zones::GrowingArea {
  std::atomic<uintptr_t> used_top{0};  // pages below it are committed and initialised
  size_t max_bytes = 0;                // 0: no cap
  std::atomic<bool> full{false};       // max_bytes reached: block pages never return to the area
  bool enabled = false;
  std::atomic<uint8_t> fast{0};        // g_fast
  // What the inline paths of the exported malloc and free read, so that each decides with one
  // compare: malloc serves a request inline when size < fast_below (kMaxRequest + 1 while g_fast is
  // kFastOn, else 0); free takes a pointer inline when p - base < fast_span (the used part of the
  // area while g_fast is not kFastOff, else 0). Kept by set_fast() and publish(), under the lock.
  std::atomic<size_t> fast_below{0};
  std::atomic<uintptr_t> fast_span{0};
  std::atomic<uintptr_t> used_span{0};  // used_top - base: owns() in one compare
};
// Hidden, as every symbol of the library: said here too, so that the inline paths address them
// from the instruction pointer, not through the GOT.
[[gnu::visibility("hidden")]] extern Area g_area;

// True while the pool serves small requests of the default alignment: read by the exported malloc
// and free, which run the fast paths below inline. Set at start-up before the runtime is published
// as ready; cleared when mallopt(M_MALIGN) asks for more alignment than pool blocks have, and while
// a layer above the pool must see every call (MALLOCDEBUG). A word of g_area, so that the inline
// free reads it from the same base as the pool's range: one load and one branch.
// kFastSampled: as kFastOn, but the inline malloc also counts down catch_overflow's sample
// (MALLOCDEBUG=catch_overflow,sample), so that the sampled mode keeps the pool's fast path.
enum FastPath : uint8_t { kFastOff = 0, kFastOn = 1, kFastSampled = 2 };
inline constexpr std::atomic<uint8_t>& g_fast = g_area.fast;
// Sets g_fast and the two limits the inline paths read (pool.cpp).
void set_fast(FastPath state);

[[gnu::visibility("hidden")]] extern const uint8_t kClassOf[kMaxRequest / 16 + 1];
[[gnu::visibility("hidden")]] extern const uint16_t kClassSize[kClasses];
// GNU __thread, not C++ thread_local: no dynamic initialisation, so an access is one %fs load
// (initial-exec) instead of a call through a TLS wrapper.
[[gnu::visibility("hidden")]] extern __thread ThreadPool* t_pool;

// Reserves the area; false (pool stays off) when even a small reservation is refused. A second
// call (the stack rebuilt by mallopt) keeps the area it has.
bool configure(size_t max_bytes);
bool enabled();

// Slow paths (pool.cpp).
void* allocate_slow(size_t size);
void release_remote(PoolPage* page, void* p);
[[noreturn]] void report_bad(void* p, const char* call, bool double_free);
// report_bad() for the inline free: declared as returning so that the call is a jump and the
// inline path needs no stack frame of its own.
void release_bad(void* p, const char* call, bool double_free);

inline bool owns(const void* p) {
  return reinterpret_cast<uintptr_t>(p) - g_area.base < g_area.used_span.load(std::memory_order_acquire);
}
// The inline free's test: a pool block, and the pool's fast path is on.
inline bool owns_fast(const void* p) {
  return reinterpret_cast<uintptr_t>(p) - g_area.base < plain(g_area.fast_span);
}
inline PoolPage* page_of(const void* p) {
  return reinterpret_cast<PoolPage*>(reinterpret_cast<uintptr_t>(p) & ~(kPageSize - 1));
}
// p's block number in its page, if p is a block's start: its offset divided by the block size
// as a multiply by the inverse and a rotate, which leaves any offset that is not a multiple of it
// above page->limit.
inline uint64_t block_number(const PoolPage* page, const void* p) {
  uint64_t off = reinterpret_cast<uintptr_t>(p) - page->first();
  uint64_t x = off * page->inverse;
  uint32_t s = page->shift;
  return (x >> s) | (x << ((64 - s) & 63));  // rotate right by s (a ror)
}
inline bool is_block_number(const PoolPage* page, const void* p, uint64_t x) {
  return x <= page->limit && reinterpret_cast<uintptr_t>(p) < page->bump;
}
inline bool is_block_start(const PoolPage* page, const void* p) {
  return is_block_number(page, p, block_number(page, p));
}

// malloc of size <= kMaxRequest: a pop from this thread's free list of the class; nullptr when the
// thread has no pool yet or the list is empty (then allocate_slow()).
inline void* pop(size_t size) {
  ThreadPool* tp = t_pool;
  if (__builtin_expect(tp != nullptr, 1)) {
    unsigned c = kClassOf[(size + 15) >> 4];
    FreeBlock* b = tp->free[c];
    if (__builtin_expect(b != nullptr, 1)) {
      tp->free[c] = b->next;
      ++page_of(b)->used;
      ++tp->counters[c].allocations;
      return b;
    }
  }
  return nullptr;
}
// The same, or else the slow path. nullptr: serve it elsewhere.
inline void* allocate(size_t size) {
  if (void* p = pop(size)) return p;
  return allocate_slow(size);
}

// free of a block that owns() said is in the pool.
// `before(page, number)` runs once p is known to be a block's start, before the block goes to any
// list (the Malloc Log forgets the block there: libmalloc/requests.cpp).
template <class Before>
[[gnu::always_inline]] inline void release_with(void* p, const char* call, Before before) {
  PoolPage* page = page_of(p);
  uint64_t x = block_number(page, p);
  if (__builtin_expect(!is_block_number(page, p, x), 0)) return release_bad(p, call, false);
  before(page, x);
  ThreadPool* tp = t_pool;
  if (__builtin_expect(page->owner == tp, 1)) {
    unsigned c = page->cls;
    auto* b = static_cast<FreeBlock*>(p);
    if (__builtin_expect(b == tp->free[c], 0)) return release_bad(p, call, true);
    b->next = tp->free[c];
    tp->free[c] = b;
    ++tp->counters[c].frees;
    if (__builtin_expect(--page->used == 0, 0)) ++tp->emptied;
    return;
  }
  release_remote(page, p);
}
inline void release(void* p, const char* call) {
  release_with(p, call, [](const PoolPage*, uint64_t) {});
}

inline size_t usable_size(const void* p) { return page_of(p)->block_size; }

// Statistics: the sum over every pool, and per class (kClasses rows).
void totals(PoolFigures* out, PoolClassFigures* classes);

// The lock of the pool's pages and of its lists of pools, taken at fork.
Lock& fork_lock();
// In a child forked without the locks (libmalloc/fork.cpp): this thread's pool may be half-way
// through a change, so the thread leaves it (its blocks become remote frees) and attaches a new one
// at its next request; shared lists caught in a change are emptied.
void set_aside_in_child();


// The layer: the first of every stack. The exported malloc, free, new and delete run allocate()
// and release() above inline while g_fast is set, and pass what the pool does not serve to the
// layers below (below()); the layer's own calls serve the other entry points (calloc, realloc,
// aligned requests).
template <class Next>
class PoolLayer : public LockedAtFork<Next, fork_lock, set_aside_in_child> {
 public:
  Next& below() { return *this; }

  void configure(const Config& c) {
    Next::configure(c);
    on_ = false;
    if (!c.enabled(OptionId::kPool)) return;
    if (!pool::configure(c.value(OptionId::kPool))) {
      static const char kNoRoom[] = "MALLOCOPTIONS: pool: no address space for the pool; pool is off";
      warn(kNoRoom, sizeof(kNoRoom) - 1);
      return;
    }
    on_ = true;
    set_fast(kFastOn);
  }

  void* allocate(size_t size, size_t align) {
    if (on_ && size <= kMaxRequest && align == kAlignment) {
      if (void* p = pool::allocate(size)) return p;
    }
    return Next::allocate(size, align);
  }

  void release(void* p, Owner o, const char* call) {
    if (owns(p)) return pool::release(p, call);
    Next::release(p, o, call);
  }
  // Whether allocate() takes the request from the pool (for the Malloc Log's path: requests.cpp).
  bool pool_serves(size_t size, size_t align) const {
    return on_ && size <= kMaxRequest && align == kAlignment;
  }

  size_t usable_size(void* p, Owner o, const char* call) {
    if (owns(p)) return pool::usable_size(p);
    return Next::usable_size(p, o, call);
  }

  // A pool block stays while the new size fits its class; otherwise the caller moves it.
  void* reallocate(void* p, Owner o, size_t size) {
    if (owns(p)) return size <= pool::usable_size(p) ? p : nullptr;
    return Next::reallocate(p, o, size);
  }

  void clear(void* p, size_t size) {
    if (owns(p)) {
      memset(p, 0, size);
      return;
    }
    Next::clear(p, size);
  }

  // mallopt(M_MALIGN): pool blocks are 16-byte aligned, so a larger default turns the pool off.
  void set_default_alignment(size_t align) {
    set_fast(on_ && align == kAlignment ? kFastOn : kFastOff);
  }

  void statistics(Statistics& f) {
    Next::statistics(f);
    if (!enabled()) return;
    totals(&f.pool, f.pool_class);
    f.has_pool = 1;
    f.pool_classes = kClasses;
  }


 private:
  bool on_ = false;
};

}  // namespace aixmalloc::pool
