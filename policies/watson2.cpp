// Watson2's slow paths: the area and its page records, attaching a thread to a heap, refilling an
// allocation list, taking back remote frees, empty pages, thread exit and adoption, and the
// figures for the statistics. The fast paths are inline in watson2.h.
#include "policies/watson2.h"

#include <new>

#include "libmalloc/base/large_blocks.h"
#include "libmalloc/base/meta.h"
#include "libmalloc/base/os.h"
#include "libmalloc/base/reclaim.h"
#include "libmalloc/base/thread_exit.h"
#include "libmalloc/base/zones.h"
#include "policies/watson2_classes.h"
#include "policies/watson2_carve.h"
#include "policies/watson2_pages.h"

namespace aixmalloc::watson2 {

constinit Area g_area;
const ClassTable kClassOf = make_class_table();
namespace {
// A thread's lists until it has a heap, never written: the inline pop finds them empty and
// allocate_slow() attaches a heap; no page has them for its owner. Const:
// in the library's read-only data that every process maps as it starts (hot_text.ld), where
// reading it costs no page of its own; in .bss, the first request read two pages of it (a page
// fault each), and a write through it would now fault at once, not corrupt.
constinit const HeapLists g_no_heap{};
HeapLists* const kNoHeap = const_cast<HeapLists*>(&g_no_heap);
}  // namespace
__thread HeapLists* t_heap = kNoHeap;

namespace {
// This thread's heap, if it has one.
Heap* own_heap() { return t_heap == kNoHeap ? nullptr : static_cast<Heap*>(t_heap); }
}  // namespace

namespace {

constexpr uint64_t kKeptSpares = 4;    // empty pages a heap keeps resident

Heap* g_heaps = nullptr;
Heap* g_orphans = nullptr;
uint64_t g_heap_count = 0, g_orphan_count = 0;
uint64_t g_adopted = 0;
std::atomic<bool> g_orphan_frees{false};  // a thread freed into an abandoned heap

// The shared classes. A page belongs to one heap, so where threads pass blocks to each other each
// thread's class holds what it had out at its own busiest moment, and the sum over threads and
// classes is what the process keeps: for blocks of 1 KiB to 16 KiB passed around a ring of four
// threads, three times the live bytes. From kFirstShared up, once the process has a second thread,
// a class's pages belong to one heap that every thread shares, under a lock of the class (taken
// before g_lock): a block freed by any thread is the next one any thread gets. Each thread keeps a
// few of the shared blocks it frees (kCacheBytes in all) for its own next requests, without the
// lock. A class whose lock makes more than one call in kMaxWaits / kWindow wait goes back to the
// threads' own heaps for good (its blocks in shared pages stay there until they are freed).
// Built at the first request for a shared class, in room of its own in .bss: a process that
// never has a second thread never touches its pages.
std::atomic<Heap*> g_shared{nullptr};
// Each heap's room on two system pages, not three.
// What a program of one thread touches of its heap lies in the heap's first page (watson2.h).
static_assert(sizeof(Heap) - sizeof(Heap::cache) - sizeof(Heap::cached) <= 4096);
AIXMALLOC_LARGE_TABLE alignas(4096) constinit char g_shared_room[sizeof(Heap)];
AIXMALLOC_LARGE_TABLE alignas(4096) constinit char g_first_heap_room[sizeof(Heap)];  // attach()
AIXMALLOC_FORK_LOCK constinit Lock g_class_lock[kClasses];
struct SharedClass {
  std::atomic<bool> own_heaps{false};  // contended: new blocks come from the threads' own heaps
  bool dead = false;                   // a child forked while its lock was held: the class is off
  uint32_t calls = 0, waits = 0;       // under the lock, over the current window of kWindow calls
};
// Read only once the process has a second thread (or by the statistics): with the cold variables.
AIXMALLOC_COLD constinit SharedClass g_class[kClasses];
constexpr uint32_t kWindow = 1024, kMaxWaits = kWindow / 8;
constexpr uint32_t kCacheBytes = 65536;       // a thread's cache of shared blocks
constexpr uint32_t kCacheClassBytes = 16384;  // of one class (one block at least)

Page* init_page(Page* page, Heap* h, unsigned c) {
  uint32_t size = kSizes[c];
  page->free = nullptr;
  page->owner = h;
  page->capacity = static_cast<uint16_t>(kPageSize / size);
  page->held = -1;
  page->size = size;
  page->magic = magic_for(size);
  page->cls = static_cast<uint8_t>(c);
  set_carved(page, 0);
  page->remote.store(nullptr, std::memory_order_relaxed);
  __atomic_fetch_add(&h->pages, 1, __ATOMIC_RELAXED);  // the shared heap's classes run side by side
  return page;
}


// kKeep: the heap keeps a few; kGive: given up for any heap; kGiveLocked: the same, under g_lock.
enum Retire { kKeep, kGive, kGiveLocked };

void retire(Heap* h, Page* page, Retire how) {
  set_carved(page, 0);  // stale pointers into it are refused
  page->cls = kNoClass;
  page->free = nullptr;
  __atomic_fetch_sub(&h->pages, 1, __ATOMIC_RELAXED);
  if (how == kKeep && h->spares < kKeptSpares) {
    page->next_spare = h->spare;
    h->spare = page;
    ++h->spares;
    return;
  }
  if (how == kGiveLocked) return pages::give_back_locked(page);
  pages::give_back(page);
}

void unlink_partial(Heap* h, Page* page) { h->partial[page->cls].erase(h->partial[page->cls].iterator_to(*page)); }

// A free took the page's count of blocks out below 0: the page was full (on no list) and goes back
// to its heap's partial pages, or it is empty and leaves its class (`how`), unless it is the page
// its class allocates from.
void page_reopened_or_emptied(Heap* h, Page* page, Retire how) {
  unsigned c = page->cls;
  if (page->held < -1) {
    page->held -= kFull;
    h->partial[c].push_front(*page);
    return;
  }
  if (page == h->cur[c]) return;
  unlink_partial(h, page);
  retire(h, page, how);
}

// Takes back the blocks other threads freed into this heap's pages. The page's link in the pending
// stack is read before its remote list is taken: once it is, another free may push it again.
void drain(Heap* h, Retire how) {
  if (h->pending.load(std::memory_order_relaxed) == nullptr) return;
  Page* page = h->pending.exchange(nullptr, std::memory_order_acquire);
  while (page) {
    Page* next = page->next_pending;
    Block* blocks = page->remote.exchange(nullptr, std::memory_order_acq_rel);
    if (page->cls == kMixed) {
      take_back_mixed(h, page, blocks);
      page = next;
      continue;
    }
    uint32_t k = 1;
    Block* tail = blocks;
    while (tail->next) tail = tail->next, ++k;
    tail->next = page->free;
    page->free = blocks;
    unsigned c = page->cls;
    h->remote_frees[c] += k;
    bool was_full = page->held < -1;  // never the current page
    if (was_full) page->held -= kFull;
    page->held -= k;
    if (page != h->cur[c]) {
      if (was_full) h->partial[c].push_front(*page);
      if (page->held == -1) {
        unlink_partial(h, page);
        retire(h, page, how);
      }
    }
    page = next;
  }
}

bool release_shared(Page* page, Block* b);

// A thread's cache of shared blocks goes back to their pages: at thread exit and malloc_trim.
void flush_cache(Heap* h) {
  for (unsigned c = kFirstShared; c < kClasses; ++c) {
    while (Block* b = h->cache[c]) {
      h->cache[c] = b->next;
      --h->frees[c];  // counted again by the shared heap
      release_shared(page_of(b), b);
    }
    h->cached[c] = 0;
  }
  h->cache_bytes = 0;
}

// Returns the heap's allocation lists to their pages and its empty pages to the system: at thread
// exit, and for an abandoned heap whose remote frees another thread takes back.
void flush(Heap* h) {
  drain(h, kGive);
  flush_cache(h);
  for (unsigned c = 0; c < kClasses; ++c) {
    Page* page = h->cur[c];
    if (page == nullptr) continue;
    h->cur[c] = nullptr;
    // The allocation list goes back to the page, but for the mixed page's blocks on it, which stay.
    Block* list = h->alloc[c];
    h->alloc[c] = nullptr;
    while (Block* b = list) {
      list = b->next;
      Block*& to = page_of(b) == page ? page->free : h->alloc[c];
      b->next = to;
      to = b;
      page->held -= page_of(b) == page;
    }
    if (page->held == -1) {
      retire(h, page, kGive);
    } else if (page->held != page->capacity - 1) {
      h->partial[c].push_front(*page);
    } else {
      page->held += kFull;  // a free moves it back to the partial pages
    }
  }
  while (Page* page = h->spare) {
    h->spare = page->next_spare;
    --h->spares;
    pages::give_back(page);
  }
}

// Abandoned heaps are nobody's: whoever takes them off the orphan list may take back what other
// threads freed into them and give their empty pages back (their other pages were put in order
// when their thread exited). Called before the area grows, at thread exit and by malloc_trim, once
// a free into an abandoned heap has happened since the last time.
void collect_orphans() {
  if (!g_orphan_frees.load(std::memory_order_relaxed)) return;
  LockGuard guard(g_lock);  // no thread adopts one meanwhile
  g_orphan_frees.store(false, std::memory_order_relaxed);
  for (Heap* h = g_orphans; h; h = h->next_orphan) drain(h, kGiveLocked);
}

Page* new_page(Heap* h, unsigned c) {
  Page* page = h->spare;
  if (page) {
    h->spare = page->next_spare;
    --h->spares;
    return init_page(page, h, c);
  }
  collect_orphans();  // pages emptied by frees into abandoned heaps come first
  large::before_growth();
  bool fresh;
  {
    LockGuard guard(g_lock);
    page = pages::take_locked(&fresh);
  }
  if (page == nullptr) return nullptr;
  // Memory from the system: the freed memory the heaps keep for their own reuse goes back first.
  // The page is not populated with what they gave back (reclaim.h): a class may never fill it,
  // and its blocks are carved as they are used (sqlite3's peak rose by 0.3 MiB when it was).
  if (fresh) reclaim::before_growth(reclaim::heaps, kPageSize);
  return init_page(page, h, c);
}

// A new allocation list for class c: the current page's local frees, then the free blocks of
// another page of the class, then the current page's never-used blocks, then an empty page. Freed
// blocks are resident; a never-used one raises the process's resident size at its first touch,
// so the current page, not full, waits behind the others (at the back of the partial pages,
// whose front is the page a free last reopened) until they have no free block left. (Carving
// first kept 2-5 % more peak memory in bench_churn, bench_interp, bench_prodcons and
// bench_xfree_wide.)
Block* refill(Heap* h, unsigned c) {
  if (h != g_shared.load(std::memory_order_relaxed) && wants_slice(h, c)) {
    if (h->mixed == nullptr && h->mixed_used < kMixedUnits) {
      if (Page* page = new_page(h, c)) open_mixed(h, page);
      else h->mixed_used = kMixedUnits;  // the area is full: no more tries
    }
    if (Block* list = take_slice(h, c)) return list;
  }
  for (;;) {
    if (Page* page = h->cur[c]) {
      if (Block* list = page->free) {
        page->free = nullptr;
        page->held = static_cast<int32_t>(page->carved) - 1;
        return list;
      }
      if (page->carved < page->capacity) {
        if (h->partial[c].empty()) return carve(page, ready_ahead(h, c));
        if (h->partial[c].front().free == nullptr) return carve(page, 0);
        h->cur[c] = nullptr;
        h->partial[c].push_back(*page);
        continue;
      }
      h->cur[c] = nullptr;  // full: it comes back to partial when a block of it is freed
      page->held += kFull;
    }
    if (!h->partial[c].empty()) {
      Page& page = h->partial[c].front();
      h->partial[c].pop_front();
      h->cur[c] = &page;
      continue;
    }
    Page* page = new_page(h, c);
    if (page == nullptr) return nullptr;
    h->cur[c] = page;
  }
}

void on_thread_exit() {
  Heap* h = own_heap();
  if (h == nullptr) return;
  t_heap = kNoHeap;  // later frees of this thread are remote frees into the abandoned heap
  flush(h);
  collect_orphans();
  LockGuard guard(g_lock);
  h->orphan.store(true, std::memory_order_relaxed);
  h->next_orphan = g_orphans;
  g_orphans = h;
  ++g_orphan_count;
}

Heap* attach() {
  if (!thread_exit::watch()) return nullptr;
  {
    LockGuard guard(g_lock);
    if (Heap* h = g_orphans) {
      g_orphans = h->next_orphan;
      h->next_orphan = nullptr;
      h->orphan.store(false, std::memory_order_relaxed);
      --g_orphan_count;
      ++g_adopted;
      t_heap = h;
      return h;
    }
  }
  // The first heap in room of its own in .bss (a process with one thread maps no more for it).
  static constinit std::atomic<bool> first_taken{false};
  void* mem = first_taken.exchange(true, std::memory_order_relaxed) ? meta_allocate(sizeof(Heap)) : g_first_heap_room;
  if (mem == nullptr) return nullptr;
  auto* h = new (mem) Heap;  // zeroed memory, as Heap requires (watson2.h)
  LockGuard guard(g_lock);
  h->next_heap = g_heaps;
  g_heaps = h;
  ++g_heap_count;
  t_heap = h;
  return h;
}

}  // namespace

// A thread about to wait for another (pthread_join) leaves its heap as an exiting thread does:
// the blocks it allocated and others free meanwhile are then taken back by the threads that run,
// rather than waiting in its pages for its own next call. Its next request finds it a heap again
// (attach(): the newest abandoned one, often its own).
void park() {
  if (!g_area.enabled || own_heap() == nullptr) return;
  BusySection busy;
  on_thread_exit();
}

bool configure() {
  if (g_area.enabled) return true;
  if (!pages::open()) return false;
  if (!thread_exit::add_hook(on_thread_exit)) {
    pages::close();
    return false;
  }
  g_area.enabled = true;
  return true;
}

namespace {
// A shared class's lock, counting the calls that had to wait for it.
struct ClassGuard {
  explicit ClassGuard(unsigned c) : cls(g_class[c]), lock(g_class_lock[c]) {
    cls.waits += lock.lock();
    if (++cls.calls < kWindow) return;
    if (cls.waits > kMaxWaits) cls.own_heaps.store(true, std::memory_order_relaxed);
    cls.calls = cls.waits = 0;
  }
  ~ClassGuard() { lock.unlock(); }
  SharedClass& cls;
  Lock& lock;
};

Heap* shared_heap() {
  if (Heap* s = g_shared.load(std::memory_order_acquire)) return s;
  LockGuard guard(g_lock);
  Heap* s = g_shared.load(std::memory_order_relaxed);
  if (s == nullptr) {
    s = new (g_shared_room) Heap;  // zeroed, as Heap requires (watson2.h)
    s->next_heap = g_heaps;  // counted in the statistics as a heap
    g_heaps = s;
    g_shared.store(s, std::memory_order_release);
  }
  return s;
}

// A block of a shared class, from the heap every thread shares.
void* allocate_shared(unsigned c) {
  Heap* s = shared_heap();
  ClassGuard guard(c);
  if (guard.cls.dead) return nullptr;
  Block* b = s->alloc[c];
  if (b == nullptr && (b = refill(s, c)) == nullptr) return nullptr;
  s->alloc[c] = b->next;
  ++s->allocations[c];
  return b;
}

// Its free, from any thread. False for a double free (reported by the caller, without the lock).
bool release_shared(Page* page, Block* b) {
  Heap* s = g_shared.load(std::memory_order_relaxed);  // page's owner
  unsigned c = page->cls;
  ClassGuard guard(c);
  if (guard.cls.dead) return true;  // its lists may be half-way through a change: left alone
  if (page == s->cur[c]) {
    if (b == s->alloc[c]) return false;
    b->next = s->alloc[c];
    s->alloc[c] = b;
    ++s->frees[c];
    return true;
  }
  if (b == page->free) return false;
  b->next = page->free;
  page->free = b;
  ++s->frees[c];
  if (--page->held < 0) page_reopened_or_emptied(s, page, kGive);  // for any class, any heap
  return true;
}
}  // namespace

void* allocate_slow(size_t size) {
  unsigned c = class_of(size);
  // A program with one thread has one heap: the shared classes only pay once there are more.
  if (c >= kFirstShared && !__libc_single_threaded && !g_class[c].own_heaps.load(std::memory_order_relaxed)) {
    Heap* h = own_heap();
    if (h == nullptr && g_area.enabled) h = attach();  // for its cache
    if (h && h->cache[c]) {
      BusySection busy;
      Block* b = h->cache[c];
      h->cache[c] = b->next;
      h->cached[c] -= kSizes[c];
      h->cache_bytes -= kSizes[c];
      ++h->allocations[c];
      return b;
    }
    return g_area.enabled ? allocate_shared(c) : nullptr;
  }
  // Several steps on this thread's heap: a fork from a signal handler landing here must not take
  // them as consistent.
  BusySection busy;
  Heap* h = own_heap();
  if (h == nullptr) {
    if (!g_area.enabled) return nullptr;
    h = attach();
    if (h == nullptr) return nullptr;
  }
  ++h->slow_calls;
  drain(h, kKeep);
  Block* b = h->alloc[c];
  if (b == nullptr) {
    b = refill(h, c);
    if (b == nullptr) return nullptr;  // the area is full: Watson's heap serves it
  }
  h->alloc[c] = b->next;
  ++h->allocations[c];
  return b;
}

// The page is empty, or it was full and has a free block again.
void page_changed(Page* page) {
  BusySection busy;
  page_reopened_or_emptied(page->owner, page, kKeep);
}

void release_remote(Page* page, void* p) {
  auto* b = static_cast<Block*>(p);
  if (page->owner == g_shared.load(std::memory_order_relaxed)) {
    unsigned c = page->cls;
    uint32_t size = kSizes[c];
    Heap* h = own_heap();
    if (h && b == h->cache[c]) return release_bad(p, "free", true);
    if (h && h->cache_bytes + size <= kCacheBytes && (h->cached[c] == 0 || h->cached[c] + size <= kCacheClassBytes)) {
      BusySection busy;
      b->next = h->cache[c];
      h->cache[c] = b;
      h->cached[c] += size;
      h->cache_bytes += size;
      ++h->frees[c];
      return;
    }
    if (!release_shared(page, b)) release_bad(p, "free", true);
    return;
  }
  Block* head = page->remote.load(std::memory_order_relaxed);
  do {
    b->next = head;
  } while (!page->remote.compare_exchange_weak(head, b, std::memory_order_acq_rel, std::memory_order_relaxed));
  if (head != nullptr) return;  // the page is on its owner's pending stack already
  Heap* owner = page->owner;
  if (owner->orphan.load(std::memory_order_relaxed)) g_orphan_frees.store(true, std::memory_order_relaxed);
  Page* top = owner->pending.load(std::memory_order_relaxed);
  do {
    page->next_pending = top;
  } while (!owner->pending.compare_exchange_weak(top, page, std::memory_order_release, std::memory_order_relaxed));
}

void release_bad(void* p, const char* call, bool double_free) {
  report_misuse(call, p, double_free ? Misuse::kDoubleFree : Misuse::kNotABlock);
}

size_t trim() {
  uint64_t before;
  {
    LockGuard guard(g_lock);
    before = pages::disclaimed_locked();
  }
  if (Heap* h = own_heap()) {
    BusySection busy;
    drain(h, kGive);
    flush_cache(h);
    while (Page* page = h->spare) {
      h->spare = page->next_spare;
      --h->spares;
      pages::give_back(page);
    }
  }
  collect_orphans();
  LockGuard guard(g_lock);
  pages::return_all_locked();  // malloc_trim: every resident page of no heap goes back
  return (pages::disclaimed_locked() - before) * kPageSize;
}

void totals(Watson2Figures* out) {
  *out = Watson2Figures{};
  LockGuard guard(g_lock);
  // Other threads' counters are read while they run: statistics, not a synchronisation point.
  uint64_t in_use = 0, pages = 0, spares = 0, remote = 0, mixed = 0;
  for (Heap* h = g_heaps; h; h = h->next_heap) {
    for (unsigned c = 0; c < kClasses; ++c) {
      in_use += (h->allocations[c] - h->frees[c] - h->remote_frees[c]) * kSizes[c];
      out->allocations += h->allocations[c];
      remote += h->remote_frees[c];
    }
    pages += __atomic_load_n(&h->pages, __ATOMIC_RELAXED);  // the shared heap counts atomically
    mixed += mixed_bytes(h);
    spares += h->spares;
    out->slow_calls += h->slow_calls;
  }
  for (unsigned c = kFirstShared; c < kClasses; ++c)
    out->shared_classes += !g_class[c].own_heaps.load(std::memory_order_relaxed) && !g_class[c].dead;
  if (Heap* s = g_shared.load(std::memory_order_acquire)) out->shared_bytes = __atomic_load_n(&s->pages, __ATOMIC_RELAXED) * kPageSize;
  out->heaps = g_heap_count;
  out->orphans = g_orphan_count;
  out->adopted = g_adopted;
  out->remote_frees = remote;
  out->bytes_in_pages = (pages + spares) * kPageSize + mixed;
  out->bytes_in_use = in_use;
  out->spare_pages = spares;
  pages::figures_locked(out);
}

Lock& fork_lock() { return g_lock; }
void lock_classes() {
  for (unsigned c = kFirstShared; c < kClasses; ++c) g_class_lock[c].lock();
}
void unlock_classes() {
  for (unsigned c = kFirstShared; c < kClasses; ++c) g_class_lock[c].unlock();
}
void reset_classes_in_child() {
  for (unsigned c = kFirstShared; c < kClasses; ++c) g_class_lock[c].reset_in_child();
}

void set_aside_in_child() {
  for (unsigned c = kFirstShared; c < kClasses; ++c) {
    if (g_class_lock[c].is_locked()) g_class[c].dead = true;  // its blocks stay where they are
    g_class_lock[c].reset_in_child();
  }
  if (g_lock.is_locked()) {
    g_orphans = nullptr;  // never adopted: their blocks stay where they are
    g_orphan_count = 0;
    pages::forget_in_child();
  }
  g_lock.reset_in_child();
  t_heap = kNoHeap;  // its blocks become remote frees; the thread attaches a new heap
}

}  // namespace aixmalloc::watson2
