// The pool's slow paths: attaching a thread, carving pages, taking back remote frees, thread exit,
// and the pool's figures for the statistics. The fast paths are inline in pool.h.
#include "options/pool.h"

#include <new>

#include "libmalloc/base/large_blocks.h"
#include "libmalloc/base/lock.h"
#include "libmalloc/base/os.h"
#include "libmalloc/base/platform.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/thread_exit.h"
#include "libmalloc/base/zones.h"

namespace aixmalloc::pool {

constinit Area g_area;
__thread ThreadPool* t_pool = nullptr;

const uint16_t kClassSize[kClasses] = {16,  32,  48,  64,  80,  96,  112, 128,
                                       160, 192, 224, 256, 320, 384, 448, 512};
// Class of a request by (size + 15) / 16, for sizes 0 .. 512.
const uint8_t kClassOf[kMaxRequest / 16 + 1] = {
    0, 0, 1, 2, 3, 4, 5, 6, 7,                          // 0..128 in 16-byte steps
    8, 8, 9, 9, 10, 10, 11, 11,                         // 129..256 in 32-byte steps
    12, 12, 12, 12, 13, 13, 13, 13, 14, 14, 14, 14,    // 257..448 in 64-byte steps
    15, 15, 15, 15};

namespace {

AIXMALLOC_FORK_LOCK constinit Lock g_lock;  // pages, the list of pools, the orphans
ThreadPool* g_pools = nullptr;
ThreadPool* g_orphans = nullptr;
uint64_t g_orphan_count = 0;
uint64_t g_pool_count = 0;
uintptr_t g_records = 0, g_records_end = 0;  // where new ThreadPool records are carved
size_t g_block_bytes = 0;                     // bytes of block pages, what max_size caps

constexpr size_t kFirstReserve = size_t{4} << 20;  // the area's first reservation
constexpr size_t kMaxExtend = size_t{1} << 30;     // one extension in place, at most
// Without a zone (none left, or out of reach under valgrind or a sanitizer), the area is reserved
// wherever the kernel puts it, with this much room: it can only grow in place by chance there.
constexpr size_t kNoZoneReserve = size_t{64} << 20;


uint64_t inverse_of_odd(uint64_t odd) {
  uint64_t x = odd;  // Newton's iteration: each step doubles the correct low bits
  for (int i = 0; i < 6; ++i) x *= 2 - odd * x;
  return x;
}

// Takes the next page of the area, committed. Caller holds g_lock. max_size caps the pages that
// hold blocks, not the pages of ThreadPool records.
uintptr_t take_page(bool for_blocks) {
  uintptr_t top = g_area.used_top.load(std::memory_order_relaxed);
  if (top + kPageSize > g_area.base + g_area.reserved && !g_area.grow(kPageSize, kMaxExtend)) return 0;
  if (for_blocks && g_area.max_bytes && g_block_bytes + kPageSize > g_area.max_bytes) {
    g_area.full.store(true, std::memory_order_relaxed);
    return 0;
  }
  if (!os::commit(top, kPageSize)) return 0;
  if (for_blocks) g_block_bytes += kPageSize;
  return top;
}

void publish(uintptr_t page) {
  g_area.used_top.store(page + kPageSize, std::memory_order_release);
  g_area.used_span.store(page + kPageSize - g_area.base, std::memory_order_release);
  if (g_area.fast.load(std::memory_order_relaxed) != kFastOff)
    g_area.fast_span.store(page + kPageSize - g_area.base, std::memory_order_release);
}

// A page holding ThreadPool records: its header makes every address in it fail is_block_start.
ThreadPool* new_record() {
  size_t size = align_up(sizeof(ThreadPool), 64);
  if (g_records == 0 || g_records + size > g_records_end) {
    uintptr_t page = take_page(false);
    if (page == 0) return nullptr;
    auto* h = new (reinterpret_cast<void*>(page)) PoolPage{};
    h->owner = nullptr;
    h->cls = kClasses;
    h->block_size = 0;
    h->bump = h->first();  // nothing below bump: no pool block here
    h->end = h->first();
    h->shift = 0;
    h->inverse = 1;  // only offset 0 passes the block-start check, and bump stops it
    h->limit = 0;
    publish(page);
    g_records = align_up(h->first(), 64);
    g_records_end = page + kPageSize;
  }
  auto* tp = new (reinterpret_cast<void*>(g_records)) ThreadPool;
  g_records += size;
  tp->next_pool = g_pools;
  g_pools = tp;
  ++g_pool_count;
  return tp;
}

// At thread exit the pool is orphaned with everything in it; later frees in this thread are
// remote frees to the orphan, and its requests go to the layers below.
void on_thread_exit() {
  ThreadPool* tp = t_pool;
  if (tp == nullptr) return;
  t_pool = nullptr;
  LockGuard guard(g_lock);
  tp->next_orphan = g_orphans;
  g_orphans = tp;
  ++g_orphan_count;
}

ThreadPool* attach() {
  if (!thread_exit::watch()) return nullptr;
  ThreadPool* tp;
  {
    LockGuard guard(g_lock);
    tp = g_orphans;
    if (tp) {
      g_orphans = tp->next_orphan;
      tp->next_orphan = nullptr;
      --g_orphan_count;
    } else {
      tp = new_record();
    }
  }
  t_pool = tp;
  return tp;
}

// Lays out a page (new, or a spare of this pool's) for class c.
PoolPage* init_page(uintptr_t at, ThreadPool* tp, unsigned c) {
  auto* page = new (reinterpret_cast<void*>(at)) PoolPage{};
  uint32_t size = kClassSize[c];
  page->owner = tp;
  page->cls = c;
  page->block_size = size;
  page->bump = page->first();
  page->end = page->first() + (kPageSize - PoolPage::kHeader) / size * size;
  page->shift = static_cast<uint32_t>(__builtin_ctz(size));
  page->used = 0;
  uint64_t odd = size >> page->shift;
  page->inverse = inverse_of_odd(odd);
  page->limit = (page->end - page->first()) / size - 1;  // the last block's index
  return page;
}

PoolPage* new_page(ThreadPool* tp, unsigned c) {
  // A full capped pool sends the request on without taking the lock.
  if (g_area.full.load(std::memory_order_relaxed)) return nullptr;
  large::before_growth();
  LockGuard guard(g_lock);
  uintptr_t at = take_page(true);
  if (at == 0) return nullptr;
  PoolPage* page = init_page(at, tp, c);
  publish(at);
  ++tp->pages;
  return page;
}

// Takes back the blocks other threads freed, onto this pool's lists.
void drain(ThreadPool* tp) {
  if (tp->remote.load(std::memory_order_relaxed) == nullptr) return;
  FreeBlock* b = tp->remote.exchange(nullptr, std::memory_order_acquire);
  while (b) {
    FreeBlock* next = b->next;
    PoolPage* page = page_of(b);
    unsigned c = page->cls;
    b->next = tp->free[c];
    tp->free[c] = b;
    ++tp->counters[c].remote_frees;
    if (--page->used == 0) ++tp->emptied;
    b = next;
  }
}

// Spare pages kept resident; beyond these, a spare page's blocks go back to the system (its header's
// system page stays, holding the spare list's link).
constexpr uint64_t kResidentSpares = 8;

void keep_spare(ThreadPool* tp, PoolPage* page) {
  page->cls = kClasses;  // no class: marks the page as collected while the sweep runs
  page->bump = page->first();  // no block below bump: a stale pointer into it is reported
  page->next_spare = tp->spare;
  tp->spare = page;
  ++tp->spares;
}

// After a sweep (never during one: the free lists it walks run through these pages), the pages it
// collected give their memory back, but for the first few, which the next requests take.
void disclaim_spares(ThreadPool* tp, uint64_t before) {
  size_t sys = page_size();
  uint64_t fresh = tp->spares - before, pos = 0;
  for (PoolPage* page = tp->spare; page && pos < fresh; page = page->next_spare)
    if (++pos > kResidentSpares) os::disclaim(reinterpret_cast<uintptr_t>(page) + sys, kPageSize - sys);
}

// Whether enough pages emptied to be worth one pass over the free lists: at least 4, and one in 16
// of this pool's pages (so the sweeps' cost stays proportional to the pages they win back).
bool worth_sweeping(const ThreadPool* tp) { return tp->emptied >= 4 && tp->emptied * 16 >= tp->pages; }

// Takes the blocks of empty pages off the free lists and keeps those pages as spares.
void sweep(ThreadPool* tp) {
  tp->emptied = 0;
  uint64_t before = tp->spares;
  for (unsigned c = 0; c < kClasses; ++c) {
    FreeBlock** link = &tp->free[c];
    while (FreeBlock* b = *link) {
      PoolPage* page = page_of(b);
      if (page->used != 0) {
        link = &b->next;
        continue;
      }
      *link = b->next;
      if (page->cls != kClasses) {
        if (tp->current[c] == page) tp->current[c] = nullptr;
        keep_spare(tp, page);
      }
    }
    // A current page with nothing out and nothing carved has no block on any list.
    PoolPage* cur = tp->current[c];
    if (cur && cur->used == 0 && cur->bump == cur->first()) {
      tp->current[c] = nullptr;
      keep_spare(tp, cur);
    }
  }
  disclaim_spares(tp, before);
}

PoolPage* take_spare(ThreadPool* tp, unsigned c) {
  PoolPage* page = tp->spare;
  if (page == nullptr) return nullptr;
  tp->spare = page->next_spare;
  --tp->spares;
  ++tp->recycled;
  return init_page(reinterpret_cast<uintptr_t>(page), tp, c);
}

}  // namespace

bool configure(size_t max_bytes) {
  if (g_area.enabled) return true;
  // max_size caps the pages that hold blocks (take_page); the area may grow a little beyond it, for
  // the ThreadPool records.
  size_t cap = max_bytes ? align_up(max_bytes, kPageSize) + (size_t{1} << 20) : zones::kZoneSize;
  zones::GrowingArea& range = g_area;
  if (!range.open(kFirstReserve < cap ? kFirstReserve : cap, kNoZoneReserve < cap ? kNoZoneReserve : cap,
                  kPageSize))
    return false;
  if (!thread_exit::add_hook(on_thread_exit)) {
    os::release(range.base, range.reserved);
    range = zones::GrowingArea{};
    return false;
  }
  // Outside a zone, growing in place works only if nothing lies above: try up to the cap.
  range.room = range.in_zone && range.room < cap ? range.room : cap;
  g_area.max_bytes = max_bytes;
  g_area.used_top.store(range.base, std::memory_order_release);
  g_area.enabled = true;
  return true;
}

bool enabled() { return g_area.enabled; }

void* allocate_slow(size_t size) {
  // Several steps on this thread's lists and pages: a fork from a signal handler landing here must
  // not take them as consistent.
  BusySection busy;
  ThreadPool* tp = t_pool;
  if (tp == nullptr) {
    if (!g_area.enabled) return nullptr;
    tp = attach();
    if (tp == nullptr) return nullptr;
  }
  ++tp->slow_calls;
  unsigned c = kClassOf[(size + 15) >> 4];
  drain(tp);
  FreeBlock* b = tp->free[c];
  if (b) {
    tp->free[c] = b->next;
    ++page_of(b)->used;
    ++tp->counters[c].allocations;
    return b;
  }
  PoolPage* page = tp->current[c];
  if (page == nullptr || page->bump + page->block_size > page->end) {
    if (tp->spare == nullptr && worth_sweeping(tp)) sweep(tp);
    page = take_spare(tp, c);
    if (page == nullptr) page = new_page(tp, c);
    if (page == nullptr) return nullptr;  // max_size reached: the back end serves it
    tp->current[c] = page;
  }
  void* p = reinterpret_cast<void*>(page->bump);
  page->bump += page->block_size;
  ++page->used;
  ++tp->counters[c].allocations;
  return p;
}

void release_remote(PoolPage* page, void* p) {
  ThreadPool* owner = page->owner;
  auto* b = static_cast<FreeBlock*>(p);
  FreeBlock* head = owner->remote.load(std::memory_order_relaxed);
  do {
    b->next = head;
  } while (!owner->remote.compare_exchange_weak(head, b, std::memory_order_release,
                                                std::memory_order_relaxed));
}

void release_bad(void* p, const char* call, bool double_free) { report_bad(p, call, double_free); }

void set_fast(FastPath state) {
  LockGuard guard(g_lock);
  g_area.fast.store(state, std::memory_order_release);
  g_area.fast_below.store(state == kFastOn ? kMaxRequest + 1 : 0, std::memory_order_release);
  uintptr_t used = g_area.used_top.load(std::memory_order_relaxed) - g_area.base;
  g_area.fast_span.store(state == kFastOff || !g_area.enabled ? 0 : used, std::memory_order_release);
}

void report_bad(void* p, const char* call, bool double_free) {
  report_misuse(call, p, double_free ? Misuse::kDoubleFree : Misuse::kNotABlock);
}

void totals(PoolFigures* out, PoolClassFigures* classes) {
  static_assert(kClasses == kPoolClasses);
  *out = PoolFigures{};
  for (unsigned c = 0; c < kClasses; ++c) classes[c] = PoolClassFigures{kClassSize[c], 0, 0, 0};
  LockGuard guard(g_lock);
  // Other threads' counters are read while they run: statistics, not a synchronisation point.
  for (ThreadPool* tp = g_pools; tp; tp = tp->next_pool) {
    for (unsigned c = 0; c < kClasses; ++c) {
      classes[c].allocations += tp->counters[c].allocations;
      classes[c].frees += tp->counters[c].frees;
      classes[c].remote_frees += tp->counters[c].remote_frees;
    }
    out->slow_calls += tp->slow_calls;
    out->spare_pages += tp->spares;
    out->pages_recycled += tp->recycled;
  }
  out->pools = g_pool_count;
  out->orphans = g_orphan_count;
  out->bytes_reserved = g_block_bytes;
  for (unsigned c = 0; c < kClasses; ++c) {
    const PoolClassFigures& k = classes[c];
    out->bytes_in_use += (k.allocations - k.frees - k.remote_frees) * kClassSize[c];
  }
}

Lock& fork_lock() { return g_lock; }
void set_aside_in_child() {
  if (g_lock.is_locked()) {
    g_orphans = nullptr;  // never adopted: their blocks stay where they are
    g_orphan_count = 0;
    g_records = g_records_end = 0;  // the next record starts a fresh page
  }
  g_lock.reset_in_child();
  t_pool = nullptr;  // its blocks become remote frees; the thread attaches a new pool
}

}  // namespace aixmalloc::pool
