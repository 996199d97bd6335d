// Watson2's slow paths: the area and its page records, attaching a thread to a heap, refilling an
// allocation list, taking back remote frees, empty pages, thread exit and adoption, and the
// figures for the statistics. The fast paths are inline in watson2.h.
#include "policies/watson2.h"

#include <new>

#include "libmalloc/base/large_blocks.h"
#include "libmalloc/base/meta.h"
#include "libmalloc/base/os.h"
#include "libmalloc/base/thread_exit.h"
#include "libmalloc/base/zones.h"
#include "policies/watson2_classes.h"

namespace aixmalloc::watson2 {

constinit Area g_area;
const ClassTable kClassOf = make_class_table();
namespace {
// A thread's lists until it has a heap, never written: the inline pop finds them empty and
// allocate_slow() attaches a heap; no page has them for its owner.
constinit HeapLists g_no_heap{.class_of = make_class_table()};
}  // namespace
__thread HeapLists* t_heap = &g_no_heap;

namespace {
// This thread's heap, if it has one.
Heap* own_heap() { return t_heap == &g_no_heap ? nullptr : static_cast<Heap*>(t_heap); }
}  // namespace

namespace {

constexpr size_t kFirstReserve = size_t{4} << 20;
constexpr size_t kMaxExtend = size_t{1} << 30;
constexpr size_t kMaxRoom = size_t{16} << 30;        // beyond, small blocks come from Watson's heap
constexpr size_t kNoZoneReserve = size_t{64} << 20;  // no zone: reserved where the kernel says
constexpr size_t kRecordChunk = 64 * sizeof(Page);   // records committed 64 pages at a time
constexpr uint64_t kKeptSpares = 4;                  // empty pages a heap keeps resident
constexpr uint64_t kKeptResident = 32;               // empty pages of no heap kept resident, at least
constexpr uint64_t kDecayNs = 1'000'000'000;         // pages of no heap unused for 1-2 s go back
constexpr size_t kCarveBytes = 4096;                 // carved into a list at a time

constinit Lock g_lock;  // the area, the records' commit, every heap list, the free pages
Heap* g_heaps = nullptr;
Heap* g_orphans = nullptr;
uint64_t g_heap_count = 0, g_orphan_count = 0;
Page* g_free_pages = nullptr;      // empty pages of no heap, disclaimed
Page* g_resident_pages = nullptr;  // empty pages of no heap given up since the last tick: taken first
Page* g_old_pages = nullptr;       // given up before the last tick, still resident: taken next
uint64_t g_free_count = 0, g_resident_count = 0, g_disclaimed = 0, g_adopted = 0;
uint64_t g_tick_ns = 0;            // the last tick of the one-second clock
uint64_t g_given_ns = 0;           // when a page was last given up resident
uint64_t g_peak = 0, g_peak_before = 0;  // most pages held by heaps since the last tick, and before
std::atomic<bool> g_orphan_frees{false};  // a thread freed into an abandoned heap
size_t g_records_committed = 0, g_records_reserved = 0;
bool g_records_grow = false;  // in a zone: the records' reservation extends in place
bool g_on = false, g_debug_ok = true, g_align_ok = true;

void publish_span(uintptr_t span) {
  g_area.used_span.store(span, std::memory_order_release);
  if (g_on && g_debug_ok && g_align_ok) g_area.fast_span.store(span, std::memory_order_release);
}

// A fresh page of the area with its record, committed. Caller holds g_lock.
Page* take_page() {
  uintptr_t span = g_area.used_span.load(std::memory_order_relaxed);
  if (span + kPageSize > g_area.reserved && !g_area.grow(kPageSize, kMaxExtend)) return nullptr;
  size_t index = span >> kPageShift;
  size_t record_end = (index + 1) * sizeof(Page);
  if (record_end > g_records_committed) {
    uintptr_t at = reinterpret_cast<uintptr_t>(g_area.pages) + g_records_committed;
    if (g_records_committed + kRecordChunk > g_records_reserved) {
      // The records' reservation grows with the area, so that address space is taken as use
      // needs it.
      size_t more = g_records_reserved < kRecordChunk ? kRecordChunk : g_records_reserved;
      uintptr_t end = reinterpret_cast<uintptr_t>(g_area.pages) + g_records_reserved;
      if (!g_records_grow || !zones::extend(end, more)) return nullptr;
      g_records_reserved += more;
    }
    if (!os::commit(at, kRecordChunk)) return nullptr;
    g_records_committed += kRecordChunk;
  }
  if (!os::commit(g_area.base + span, kPageSize)) return nullptr;
  Page* page = new (g_area.pages + index) Page{};
  page->cls = kNoClass;
  publish_span(span + kPageSize);
  return page;
}

uint64_t inverse_of_odd(uint64_t odd) {
  uint64_t x = odd;  // Newton's iteration: each step doubles the correct low bits
  for (int i = 0; i < 6; ++i) x *= 2 - odd * x;
  return x;
}

uintptr_t address_of(const Page* page) { return g_area.base + (static_cast<uintptr_t>(page - g_area.pages) << kPageShift); }

Page* init_page(Page* page, Heap* h, unsigned c) {
  uint32_t size = kSizes[c];
  page->free = nullptr;
  page->owner = h;
  page->capacity = static_cast<uint16_t>(kPageSize / size);
  page->held = -1;
  page->size = size;
  page->shift = static_cast<uint8_t>(__builtin_ctz(size));
  page->inverse = inverse_of_odd(size >> page->shift);
  page->cls = static_cast<uint8_t>(c);
  page->carved.store(0, std::memory_order_relaxed);
  page->remote.store(nullptr, std::memory_order_relaxed);
  ++h->pages;
  return page;
}

// An empty page leaves its class: kept by the heap, or given up for any heap. A page given up stays
// resident, so that threads that come and go, or a class that empties and fills again, reuse it
// without a system call (madvise on a threaded process costs a TLB shootdown on every CPU) and
// without faulting its memory in again, as long as the pages not given back (held by heaps, or
// resident) are no more than the heaps held at their peak in the last one to two seconds (32
// pages at least): such a page does not raise the process's peak. Beyond, a page given up goes
// back to the system at once. Pages given up before the last tick of a one-second clock and not
// taken since go back at the next tick (all of them when none was given up in the last second),
// so a program that shrinks shrinks in RSS too at its next call for a page a second or more
// later, or at malloc_trim().
void disclaim_locked(Page* page) {
  os::disclaim(address_of(page), kPageSize);
  page->next_spare = g_free_pages;
  g_free_pages = page;
  ++g_free_count;
  ++g_disclaimed;
}
// A list of pages in address order (a merge sort of the list itself: no memory of its own), so
// that the pages a tick gives back go in one madvise a run of neighbours, not one each: every call
// flushes the TLB of each CPU the process last ran on, which in a virtual machine costs more than
// giving back the pages.
Page* merge_by_address(Page* a, Page* b) {
  Page* head = nullptr;
  Page** tail = &head;
  while (a && b) {
    Page*& least = a < b ? a : b;
    *tail = least;
    tail = &least->next_spare;
    least = least->next_spare;
  }
  *tail = a ? a : b;
  return head;
}
Page* sort_by_address(Page* list) {
  Page* bins[64] = {};  // bins[i]: a sorted run of 2^i pages, or none
  while (Page* one = list) {
    list = one->next_spare;
    one->next_spare = nullptr;
    unsigned i = 0;
    for (; bins[i] != nullptr; ++i) {
      one = merge_by_address(bins[i], one);
      bins[i] = nullptr;
    }
    bins[i] = one;
  }
  Page* out = nullptr;
  for (Page* bin : bins) out = merge_by_address(bin, out);
  return out;
}
void disclaim_list_locked(Page*& list) {
  Page* page = sort_by_address(list);
  list = nullptr;
  while (page != nullptr) {
    Page* last = page;
    uint64_t n = 1;
    for (; last->next_spare == last + 1; ++n) last = last->next_spare;
    Page* next = last->next_spare;
    os::disclaim(address_of(page), n * kPageSize);
    last->next_spare = g_free_pages;  // the run joins the free pages whole
    g_free_pages = page;
    g_free_count += n;
    g_disclaimed += n;
    g_resident_count -= n;
    page = next;
  }
}
uint64_t held_locked() {
  return (g_area.used_span.load(std::memory_order_relaxed) >> kPageShift) - g_free_count - g_resident_count;
}
void tick_locked() {
  uint64_t now = os::now_ns();
  if (now - g_tick_ns < kDecayNs) return;
  g_tick_ns = now;
  g_peak_before = g_peak;
  g_peak = held_locked();
  disclaim_list_locked(g_old_pages);
  if (now - g_given_ns >= kDecayNs) disclaim_list_locked(g_resident_pages);  // idle for a second
  g_old_pages = g_resident_pages;
  g_resident_pages = nullptr;
}
void give_back_locked(Page* page) {
  tick_locked();
  uint64_t kept = held_locked() + g_resident_count;  // this page included
  uint64_t peak = g_peak > g_peak_before ? g_peak : g_peak_before;
  if (g_resident_count >= kKeptResident && kept > peak) return disclaim_locked(page);
  page->next_spare = g_resident_pages;
  g_resident_pages = page;
  ++g_resident_count;
  g_given_ns = os::now_ns();
}
void give_back(Page* page) {
  LockGuard guard(g_lock);
  give_back_locked(page);
}

// kKeep: the heap keeps a few; kGive: given up for any heap; kGiveLocked: the same, under g_lock.
enum Retire { kKeep, kGive, kGiveLocked };

void retire(Heap* h, Page* page, Retire how) {
  page->carved.store(0, std::memory_order_relaxed);  // stale pointers into it are refused
  page->cls = kNoClass;
  page->free = nullptr;
  --h->pages;
  if (how == kKeep && h->spares < kKeptSpares) {
    page->next_spare = h->spare;
    h->spare = page;
    ++h->spares;
    return;
  }
  if (how == kGiveLocked) return give_back_locked(page);
  give_back(page);
}

void unlink_partial(Heap* h, Page* page) { h->partial[page->cls].erase(h->partial[page->cls].iterator_to(*page)); }

// Takes back the blocks other threads freed into this heap's pages. The page's link in the pending
// stack is read before its remote list is taken: once it is, another free may push it again.
void drain(Heap* h, Retire how) {
  if (h->pending.load(std::memory_order_relaxed) == nullptr) return;
  Page* page = h->pending.exchange(nullptr, std::memory_order_acquire);
  while (page) {
    Page* next = page->next_pending;
    Block* blocks = page->remote.exchange(nullptr, std::memory_order_acq_rel);
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

// Returns the heap's allocation lists to their pages and its empty pages to the system: at thread
// exit, and for an abandoned heap whose remote frees another thread takes back.
void flush(Heap* h) {
  drain(h, kGive);
  for (unsigned c = 0; c < kClasses; ++c) {
    Page* page = h->cur[c];
    if (page == nullptr) continue;
    h->cur[c] = nullptr;
    if (Block* list = h->alloc[c]) {
      h->alloc[c] = nullptr;
      uint32_t k = 1;
      Block* tail = list;
      while (tail->next) tail = tail->next, ++k;
      tail->next = page->free;
      page->free = list;
      page->held -= k;
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
    give_back(page);
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
  {
    LockGuard guard(g_lock);
    tick_locked();
    if ((page = g_resident_pages) != nullptr) {
      g_resident_pages = page->next_spare;
      --g_resident_count;
    } else if ((page = g_old_pages) != nullptr) {
      g_old_pages = page->next_spare;
      --g_resident_count;
    } else if ((page = g_free_pages) != nullptr) {
      g_free_pages = page->next_spare;
      --g_free_count;
    } else {
      page = take_page();
    }
    uint64_t held = held_locked();
    if (held > g_peak) g_peak = held;
  }
  return page ? init_page(page, h, c) : nullptr;
}

// A list of never-used blocks of the page: a few at a time, so that a page costs memory only as
// its blocks are used.
Block* carve(Page* page) {
  uint32_t carved = static_cast<uint32_t>(page->carved.load(std::memory_order_relaxed));
  uint32_t k = page->capacity - carved;
  uint32_t want = page->size >= kCarveBytes ? 1 : static_cast<uint32_t>(kCarveBytes / page->size);
  if (k > want) k = want;
  uintptr_t first = address_of(page) + uintptr_t{carved} * page->size;
  for (uint32_t i = 0; i + 1 < k; ++i)
    reinterpret_cast<Block*>(first + uintptr_t{i} * page->size)->next =
        reinterpret_cast<Block*>(first + uintptr_t{i + 1} * page->size);
  reinterpret_cast<Block*>(first + uintptr_t{k - 1} * page->size)->next = nullptr;
  page->carved.store(carved + k, std::memory_order_relaxed);
  page->held += k;
  return reinterpret_cast<Block*>(first);
}

// A new allocation list for class c: the current page's local frees, its never-used blocks, then
// the next page with free blocks, then an empty page.
Block* refill(Heap* h, unsigned c) {
  for (;;) {
    if (Page* page = h->cur[c]) {
      if (Block* list = page->free) {
        page->free = nullptr;
        page->held = static_cast<int32_t>(page->carved.load(std::memory_order_relaxed)) - 1;
        return list;
      }
      if (page->carved.load(std::memory_order_relaxed) < page->capacity) return carve(page);
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
  t_heap = &g_no_heap;  // later frees of this thread are remote frees into the abandoned heap
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
  void* mem = meta_allocate(sizeof(Heap));
  if (mem == nullptr) return nullptr;
  auto* h = new (mem) Heap;
  LockGuard guard(g_lock);
  h->next_heap = g_heaps;
  g_heaps = h;
  ++g_heap_count;
  t_heap = h;
  return h;
}

void apply_inline() {
  bool on = g_on && g_debug_ok && g_align_ok;
  g_area.fast_below.store(on ? kMaxSmall + 1 : 0, std::memory_order_release);
  g_area.fast_span.store(on ? g_area.used_span.load(std::memory_order_relaxed) : 0, std::memory_order_release);
}

}  // namespace

bool configure() {
  if (g_area.enabled) return true;
  zones::GrowingArea range;
  if (!range.open(kFirstReserve, kNoZoneReserve, kPageSize)) return false;
  size_t room = range.room < kMaxRoom ? range.room : kMaxRoom;
  // The records: in a zone of their own when there is one, reserved for the area's first pages and
  // extended in place as it grows; otherwise reserved for the whole room at once.
  size_t records = align_up(room / kPageSize * sizeof(Page), page_size());
  uintptr_t rec_end = 0;
  uintptr_t rec = zones::reserve(kRecordChunk, &rec_end);
  g_records_grow = rec != 0;
  if (rec != 0) {
    if (rec_end - rec < records) room = (rec_end - rec) / sizeof(Page) * kPageSize;
    records = kRecordChunk;
  } else {
    rec = os::reserve(records, page_size());
  }
  if (rec == 0 || !thread_exit::add_hook(on_thread_exit)) {
    if (rec) os::release(rec, records);
    os::release(range.base, range.reserved);
    return false;
  }
  range.room = room;
  static_cast<zones::GrowingArea&>(g_area) = range;
  g_area.pages = reinterpret_cast<Page*>(rec);
  g_records_reserved = records;
  g_area.enabled = true;
  return true;
}

void* allocate_slow(size_t size) {
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
  unsigned c = class_of(size);
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
  Heap* h = page->owner;
  unsigned c = page->cls;
  if (page->held < -1) {
    page->held -= kFull;
    h->partial[c].push_front(*page);
    return;
  }
  if (page == h->cur[c]) return;
  unlink_partial(h, page);
  retire(h, page, kKeep);
}

void release_remote(Page* page, void* p) {
  auto* b = static_cast<Block*>(p);
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

void set_inline(bool on, bool debug_ok, bool align_ok) {
  LockGuard guard(g_lock);
  g_on = on;
  g_debug_ok = debug_ok;
  g_align_ok = align_ok;
  apply_inline();
}
void set_inline_debug(bool ok) {
  LockGuard guard(g_lock);
  g_debug_ok = ok;
  apply_inline();
}
void set_inline_align(bool ok) {
  LockGuard guard(g_lock);
  g_align_ok = ok;
  apply_inline();
}

size_t trim() {
  uint64_t before;
  {
    LockGuard guard(g_lock);
    before = g_disclaimed;
  }
  if (Heap* h = own_heap()) {
    BusySection busy;
    drain(h, kGive);
    while (Page* page = h->spare) {
      h->spare = page->next_spare;
      --h->spares;
      give_back(page);
    }
  }
  collect_orphans();
  LockGuard guard(g_lock);
  disclaim_list_locked(g_old_pages);  // malloc_trim: every resident page of no heap goes back
  disclaim_list_locked(g_resident_pages);
  return (g_disclaimed - before) * kPageSize;
}

void totals(Watson2Figures* out) {
  *out = Watson2Figures{};
  LockGuard guard(g_lock);
  // Other threads' counters are read while they run: statistics, not a synchronisation point.
  uint64_t in_use = 0, pages = 0, spares = 0, remote = 0;
  for (Heap* h = g_heaps; h; h = h->next_heap) {
    for (unsigned c = 0; c < kClasses; ++c) {
      in_use += (h->allocations[c] - h->frees[c] - h->remote_frees[c]) * kSizes[c];
      out->allocations += h->allocations[c];
      remote += h->remote_frees[c];
    }
    pages += h->pages;
    spares += h->spares;
    out->slow_calls += h->slow_calls;
  }
  out->heaps = g_heap_count;
  out->orphans = g_orphan_count;
  out->adopted = g_adopted;
  out->remote_frees = remote;
  out->bytes_in_pages = (pages + spares) * kPageSize;
  out->bytes_in_use = in_use;
  out->spare_pages = spares;
  out->free_pages = g_free_count + g_resident_count;
  out->pages_disclaimed = g_disclaimed;
}

Lock& fork_lock() { return g_lock; }

void set_aside_in_child() {
  if (g_lock.is_locked()) {
    g_orphans = nullptr;  // never adopted: their blocks stay where they are
    g_orphan_count = 0;
    g_free_pages = g_resident_pages = g_old_pages = nullptr;
    g_free_count = g_resident_count = 0;
  }
  g_lock.reset_in_child();
  t_heap = &g_no_heap;  // its blocks become remote frees; the thread attaches a new heap
}

}  // namespace aixmalloc::watson2
