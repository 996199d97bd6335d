// MALLOCTYPE=watson2: AIX's self-tuning allocator, which needs no option to scale. Blocks of up to
// 16 KiB come from heaps of size classes, per thread with no lock and no atomic read-modify-write
// on the way (shared by the threads, from 1 KiB up, until threads contend for a class); larger
// ones from Watson's trees beneath (policies/watson.h), through the layers below.
//
//   area (one range, grows in place):  | page | page | page | ...... | used top | reserved ... room |
//   page (64 KiB, one class, one owner heap): blocks only, no header; its record lives in a table:
//   (a heap's mixed page holds the first blocks of each of its classes: watson2_carve.h)
//   records, below the area, one 128-byte record per page, found by (p - base) >> 16:
//            ... | Page[2] | Page[1] | Page[0] | page 0 | page 1 | ...   (watson2_pages.cpp says why)
//
// Each thread has a Heap (and the classes of 1 KiB and more, once the process has a second thread,
// one heap that every thread shares under a lock a class: watson2.cpp). Per class it keeps an
// allocation list (the free blocks of its current page, taken whole) that malloc pops. Every page
// keeps its own list of local frees, which free pushes when the block's page belongs to the
// calling thread's heap, and a separate atomic list of frees from other threads: a remote free
// pushes onto the page's list, and the first one after the owner last looked also pushes the page
// onto its heap's "pending" stack, so the owner takes every remote free back with one exchange per
// page, and a cross-thread free never takes a lock (free lists are sharded by page, as mimalloc's
// papers describe). When the allocation list runs dry the owner takes the current page's local
// frees, then the pages that have free blocks, then an empty page. A page whose blocks have all
// come back is empty: a heap keeps a few for any class, and gives the rest up for any heap to
// reuse (watson2_pages.h: resident for a while, then disclaimed). A thread that exits returns its
// lists to their pages, gives its empty pages back and leaves its heap, live blocks and all, to be
// adopted by the next thread that starts; until then, any thread that needs a new page first takes
// back what other threads freed into abandoned heaps.
#pragma once

#include <atomic>
#include <boost/intrusive/list.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "libmalloc/base/config.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/lock.h"
#include "libmalloc/base/platform.h"
#include "libmalloc/base/statistics.h"
#include "libmalloc/base/zones.h"
#include "policies/policy.h"

namespace aixmalloc::watson2 {

inline constexpr size_t kMaxSmall = 16384;
inline constexpr size_t kPageShift = 16;
inline constexpr size_t kPageSize = size_t{1} << kPageShift;
inline constexpr unsigned kClasses = 57;
// Page::cls of a page with no class. It and kMixed lie below kCurSlots, so that free may index a
// heap's cur[] with any page's class and find nullptr there (HeapLists).
inline constexpr uint8_t kNoClass = 63;
inline constexpr int32_t kFull = INT32_MIN;  // added to Page::held
// Classes from this one (blocks of 1 KiB and more) are shared by every thread once the process
// has more than one (watson2.cpp says why).
inline constexpr unsigned kFirstShared = 29;
// A heap's mixed page (watson2_carve.cpp): the first blocks of each class, in slices of about
// 256 bytes (one block, for a class of more), until the class took kMixedClassBytes there; then
// the class has pages of its own. A slice starts on a unit of 256 bytes.
inline constexpr uint8_t kMixed = 62;  // Page::cls of a mixed page
inline constexpr size_t kUnitShift = 8;
inline constexpr unsigned kMixedUnits = kPageSize >> kUnitShift;
inline constexpr uint32_t kSliceBytes = 256;
inline constexpr uint32_t kMixedClassBytes = 4096;

struct Block {
  Block* next;
};

struct Heap;

// One page's record. The first cache line is the owner's; the second takes the other threads'
// frees, so that they do not contend with the owner's own work on the page.
struct alignas(128) Page {
  Block* free;                    // local frees, taken whole by the owner
  Heap* owner;                    // set while the page has a class; a heap is never destroyed
  // Blocks out of the page (carved, and on the owner's allocation list or in the program's hands)
  // less one, so that the free that empties the page takes it below 0; plus kFull while the page is
  // full and on none of its heap's lists, so that the next free finds it below 0 too. Owner only.
  int32_t held;
  uint16_t capacity;
  uint16_t size;
  // Block-start test without a division or a rotate: with magic = floor(2^64 / size) + 1, an
  // offset o = k * size + r in the page (r < size) gives o * magic = k * step + r * magic
  // (mod 2^64), where step = size * magic (mod 2^64) is between 1 and size; any r > 0 lands at
  // magic or above, far past every k * step. So o is the start of block k < carved iff the product
  // is below carved * step, one compare; and k is the product's high half (block_number()).
  std::atomic<uint64_t> limit;  // carved * step, 0 refusing every pointer: read by other threads' frees
  uint64_t magic;
  uint16_t carved;  // blocks carved so far, from the page's start; owner only
  uint8_t cls;
  // Bytes from the page's start that are resident or being made so (carve()): 0 when its memory
  // is fresh from the system. Owner only.
  uint32_t ready;
  boost::intrusive::list_member_hook<boost::intrusive::link_mode<kLinkMode>> hook;  // heap's partial pages
  alignas(64) std::atomic<Block*> remote;  // other threads' frees
  Page* next_pending;                      // in the owner's pending stack
  Page* next_spare;                        // in a list of empty pages (owner, or the free pages)
};
static_assert(sizeof(Page) == 128);

using PageList = boost::intrusive::list<
    Page, boost::intrusive::member_hook<Page, decltype(Page::hook), &Page::hook>,
    boost::intrusive::constant_time_size<false>>;

struct ClassTable {
  uint8_t of[kMaxSmall / 16 + 1];  // class of a request by (size + 15) / 16
};
[[gnu::visibility("hidden")]] extern const ClassTable kClassOf;

// What the inline paths use of a heap. A thread without a heap of its own points at lists that are
// all empty (watson2.cpp), so that they need no test for it.
inline constexpr unsigned kCurSlots = 64;
static_assert(kClasses <= kMixed && kMixed < kNoClass && kNoClass < kCurSlots);

struct HeapLists {
  Block* alloc[kClasses] = {};  // the free blocks of cur[c], taken whole; malloc pops here
  // The page each class allocates from; past kClasses always null, so that free may index it with
  // the class of any page, kNoClass and kMixed included. (64 slots, not 256: the first page of a
  // heap holds what a program of one thread touches, a page fault less for every process.)
  Page* cur[kCurSlots] = {};
  uint64_t allocations[kClasses] = {};
  uint64_t frees[kClasses] = {};  // by the owner
  // (malloc's inline path reads kClassOf, not a copy here: one instruction more, 44 a pair in
  // all, for 1 KiB less of the heap's first page, which then holds what a program of one thread
  // touches: a page fault less in every process.)
};

// A heap is built only in zeroed memory (watson2.cpp: the first heap's and the shared heap's rooms
// in .bss, the others from meta_allocate), and its first page holds what building it writes and
// what a program of one thread touches: each page of a heap touched is a page fault of every
// process. The members after cache_bytes are zero there and have no initializer, so that building
// the heap does not write them. Of its 4,480 bytes, what lies past the first 4,096 (the shared
// classes' cache, cached[]) is touched only with threads.
struct Heap : HeapLists {
  Page* spare = nullptr;  // empty pages, for any class
  uint64_t spares = 0;
  uint64_t pages = 0;  // pages with a class
  uint64_t slow_calls = 0;
  Page* mixed = nullptr;     // its mixed page, once a class took a slice
  uint32_t mixed_used = 0;   // units handed out
  PageList partial[kClasses];  // pages with free or never-used blocks, other than cur[c]
  alignas(64) std::atomic<Page*> pending{nullptr};  // pages with remote frees to take back
  std::atomic<bool> orphan{false};  // read by other threads' frees
  Heap* next_heap = nullptr;    // every heap, for statistics
  Heap* next_orphan = nullptr;  // heaps of exited threads waiting to be adopted
  uint32_t cache_bytes = 0;
  // Zero in a new heap (above):
  uint16_t mixed_taken[kClasses];  // bytes each class took in the mixed page
  // Each unit's class + 1 where a slice starts (watson2_carve.h says what its further units
  // hold); written before the slice's blocks are handed out, read by any thread's free.
  uint8_t mixed_class[kMixedUnits];
  uint64_t remote_frees[kClasses];  // by other threads, counted when the owner takes them back
  // Blocks of the shared classes (watson2.cpp) this thread freed, for its next requests of the
  // class without the class's lock: at most kCacheBytes in all (cache_bytes).
  Block* cache[kClasses];
  uint32_t cached[kClasses];  // bytes a class
};

// Process-wide: written at start-up and as the area grows (under the lock).
// base (the first page; 64 KiB aligned), reserved and room: zones.h.
struct Area : zones::GrowingArea {
  Page* pages = nullptr;    // record 0, just below base; page i's record is pages[-i]
  std::atomic<uintptr_t> used_span{0};  // pages below base + used_span have records
  // What the inline paths of the exported malloc and free read (one compare each): malloc takes a
  // request inline when size < fast_below, free a pointer when p - base < fast_span. Both 0 while
  // the inline path is off (not watson2, a MALLOCDEBUG layer above, mallopt(M_MALIGN)).
  std::atomic<size_t> fast_below{0};
  std::atomic<uintptr_t> fast_span{0};
  bool enabled = false;
  // Heaps take slices of mixed pages: off while a MALLOCDEBUG layer above sees every call, as the
  // Malloc Log finds a block by its page's class.
  bool mixed = true;
};
// Hidden, as every symbol of the library: said here too, so that the inline paths address them
// from the instruction pointer, not through the GOT.
[[gnu::visibility("hidden")]] extern Area g_area;
// This thread's heap; until it has one, lists that are all empty (watson2.cpp).
[[gnu::visibility("hidden")]] extern __thread HeapLists* t_heap;

inline unsigned class_of(size_t size) { return kClassOf.of[(size + 15) >> 4]; }
inline bool owns(const void* p) {
  return reinterpret_cast<uintptr_t>(p) - g_area.base < g_area.used_span.load(std::memory_order_acquire);
}
inline bool owns_fast(const void* p) {
  return reinterpret_cast<uintptr_t>(p) - g_area.base < plain(g_area.fast_span);
}
inline Page* page_of(const void* p) {
  return g_area.pages - ((reinterpret_cast<uintptr_t>(p) - g_area.base) >> kPageShift);
}
// The product of p's offset in its page and the page's magic: below page->limit iff p is the
// start of a block carved (Page says why).
inline uint64_t scaled_offset(const Page* page, const void* p) {
  return (reinterpret_cast<uintptr_t>(p) & (kPageSize - 1)) * page->magic;
}
inline bool is_block_start(const Page* page, const void* p) {
  return scaled_offset(page, p) < plain(page->limit);
}
// p's block number in its page, p a block's start: its offset divided by the block size, as the
// high half of the same product.
inline uint32_t block_number(const Page* page, const void* p) {
  unsigned __int128 x = (reinterpret_cast<uintptr_t>(p) & (kPageSize - 1)) * static_cast<unsigned __int128>(page->magic);
  return static_cast<uint32_t>(x >> 64);
}
// A page's magic for blocks of `size` bytes, and its limit once `carved` blocks are out of it.
inline uint64_t magic_for(uint32_t size) {
  // floor(2^64 / size) from 2^64 - 1, without a 128-bit division (a libgcc call)
  uint64_t q = ~uint64_t{0} / size;
  return q + (~uint64_t{0} % size == size - 1u) + 1;
}
inline void set_carved(Page* page, uint32_t carved) {
  page->carved = static_cast<uint16_t>(carved);
  page->limit.store(carved * (page->size * page->magic), std::memory_order_relaxed);
}

// Slow paths (watson2.cpp).
bool configure();
void* allocate_slow(size_t size);
void release_remote(Page* page, void* p);
void page_changed(Page* page);  // a local free made the page partial or empty
void release_bad(void* p, const char* call, bool double_free);
// A pointer that is no block's start of its page: a block of a mixed page, freed, or reported
// (watson2_carve.cpp).
void release_odd(Page* page, void* p, const char* call);
size_t mixed_usable_size(const Page* page, const void* p);
// The inline paths run while the layer is on, no MALLOCDEBUG layer above needs every call and the
// default alignment is 16 bytes (mallopt(M_MALIGN)).
void set_inline(bool on, bool debug_ok, bool align_ok);
void set_inline_debug(bool ok);
void set_inline_align(bool ok);
size_t trim();
// The calling thread is about to wait for another thread to end: it leaves its heap to the others,
// as at its exit (watson2.cpp).
void park();
void totals(Watson2Figures* out);
Lock& fork_lock();
void set_aside_in_child();
// The shared classes' locks, taken at fork before fork_lock().
void lock_classes();
void unlock_classes();
void reset_classes_in_child();

// malloc of at most kMaxSmall bytes: a pop from this thread's allocation list of the class;
// nullptr when the list is empty or the thread has no heap yet (t_heap's lists are then all
// empty), and allocate_slow() takes over.
inline void* pop(size_t size) {
  HeapLists* h = t_heap;
  unsigned c = kClassOf.of[(size + 15) >> 4];
  Block* b = h->alloc[c];
  if (__builtin_expect(b != nullptr, 1)) {
    h->alloc[c] = b->next;
    ++h->allocations[c];
    return b;
  }
  return nullptr;
}
inline void* allocate(size_t size) {
  if (void* p = pop(size)) return p;
  return allocate_slow(size);
}

// free of a block that owns() said is in the area. A block of the page its class allocates from
// goes straight back on the allocation list (it still counts as out of the page), so a thread
// that frees what it just allocated never leaves the inline path; that the page is its heap's
// current one says too that the heap owns it. A block of the heap's other pages goes on its page's
// list: the page's count of blocks out going below 0 (the page is empty, or it was full and on no
// list) is the one case that leaves the inline path, one decrement and one test of the sign. A
// block of another heap's page is a remote free.
// `before(page, number)` runs once p is known to be a block's start, before the block goes to any
// list (the Malloc Log forgets the block there: libmalloc/requests.cpp).
template <class Before>
[[gnu::always_inline]] inline void release_with(void* p, const char* call, Before before) {
  Page* page = page_of(p);
  // A mixed page's record refuses every pointer (its limit is 0): its blocks take this branch too,
  // without `before`, for the Malloc Log never meets them (Area::mixed).
  if (__builtin_expect(!is_block_start(page, p), 0)) return release_odd(page, p, call);
  before(page, block_number(page, p));
  HeapLists* h = t_heap;
  unsigned c = page->cls;
  auto* b = static_cast<Block*>(p);
  if (__builtin_expect(h->cur[c] == page, 1)) {
    if (__builtin_expect(b == h->alloc[c], 0)) return release_bad(p, call, true);
    b->next = h->alloc[c];
    h->alloc[c] = b;
    ++h->frees[c];
    return;
  }
  if (__builtin_expect(page->owner == h, 1)) {
    if (__builtin_expect(b == page->free, 0)) return release_bad(p, call, true);
    b->next = page->free;
    page->free = b;
    ++h->frees[c];
    if (__builtin_expect(--page->held < 0, 0)) return page_changed(page);
    return;
  }
  release_remote(page, p);
}
[[gnu::always_inline]] inline void release(void* p, const char* call) {
  release_with(p, call, [](const Page*, uint64_t) {});
}

inline size_t usable_size(const void* p) {
  const Page* page = page_of(p);
  if (__builtin_expect(page->cls == kMixed, 0)) return mixed_usable_size(page, p);
  return page->size;
}

// The layer: at the top of the plain stack, passing everything through unless MALLOCTYPE=watson2.
// The exported malloc and free run pop() and release() above inline while fast_below and
// fast_span allow; the layer's own calls serve the other entry points. What is larger than
// kMaxSmall, or aligned beyond 16 bytes, goes to the layers below, over Watson's heap.
template <class Next>
class Watson2Layer : public LockedAtFork<Next, fork_lock, set_aside_in_child> {
  using Base = LockedAtFork<Next, fork_lock, set_aside_in_child>;

 public:
  Next& watson2_next() { return *this; }

  void fork_prepare() {
    lock_classes();
    Base::fork_prepare();
  }
  void fork_parent() {
    Base::fork_parent();
    unlock_classes();
  }
  void fork_child() {
    Base::fork_child();
    reset_classes_in_child();
  }

  void configure(const Config& c) {
    Next::configure(c);
    on_ = c.policy == Policy::kWatson2 && watson2::configure();
    set_inline(on_, true, true);
  }

  void* allocate(size_t size, size_t align) {
    if (on_ && size <= kMaxSmall && align == kAlignment) {
      if (void* p = watson2::allocate(size)) return p;
    }
    return Next::allocate(size, align);
  }
  void release(void* p, Owner o, const char* call) {
    if (on_ && owns(p)) return watson2::release(p, call);
    Next::release(p, o, call);
  }
  // Whether allocate() takes the request, and release() the block (the Malloc Log's path:
  // requests.cpp).
  bool watson2_serves(size_t size, size_t align) const {
    return on_ && size <= kMaxSmall && align == kAlignment;
  }
  bool watson2_holds(const void* p) const { return on_ && owns(p); }
  size_t usable_size(void* p, Owner o, const char* call) {
    if (on_ && owns(p)) return watson2::usable_size(p);
    return Next::usable_size(p, o, call);
  }
  // In place while the block holds `size` and at most half of it goes unused; otherwise the
  // runtime moves the block (a class cannot grow or shrink in place).
  void* reallocate(void* p, Owner o, size_t size) {
    if (on_ && owns(p)) {
      size_t usable = watson2::usable_size(p);
      return size <= usable && size >= usable / 2 ? p : nullptr;
    }
    return Next::reallocate(p, o, size);
  }
  void clear(void* p, size_t size) {
    if (on_ && owns(p)) {
      memset(p, 0, size);
      return;
    }
    Next::clear(p, size);
  }
  size_t trim() { return (on_ ? watson2::trim() : 0) + Next::trim(); }
  bool any_allocation() { return (on_ && g_area.used_span.load(std::memory_order_relaxed) != 0) || Next::any_allocation(); }
  // mallopt(M_MALIGN): blocks are 16-byte aligned, so a larger default takes the inline path off.
  void set_default_alignment(size_t align) {
    Next::set_default_alignment(align);
    set_inline_align(align == kAlignment);
  }
  // A MALLOCDEBUG layer above must see every call: the runtime turns the inline path off for it.
  void inline_allowed(bool allowed) { set_inline_debug(allowed); }
  void statistics(Statistics& f) {
    Next::statistics(f);
    if (!on_) return;
    totals(&f.watson2);
    f.has_watson2 = 1;
  }

 private:
  bool on_ = false;
};

}  // namespace aixmalloc::watson2
