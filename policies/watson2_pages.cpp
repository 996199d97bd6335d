// Watson2's pages (watson2_pages.h): the area grows a page at a time with its record; an empty
// page that no heap keeps stays resident for reuse, then goes back to the system; the inline
// paths' words follow the area.
#include "policies/watson2_pages.h"

#include <new>

#include "libmalloc/base/os.h"
#include "libmalloc/base/reclaim.h"
#include "libmalloc/base/zones.h"

namespace aixmalloc::watson2 {

AIXMALLOC_FORK_LOCK constinit Lock g_lock;

namespace pages {
namespace {

constexpr size_t kFirstReserve = size_t{4} << 20;
constexpr size_t kMaxExtend = size_t{1} << 30;
constexpr size_t kMaxRoom = size_t{16} << 30;        // beyond, small blocks come from Watson's heap
constexpr size_t kNoZoneReserve = size_t{64} << 20;  // no zone: reserved where the kernel says
constexpr size_t kRecordChunk = 64 * sizeof(Page);   // records committed 64 pages at a time
// The records lie below the area, record i just below record i - 1 (watson2.h), in one
// reservation with it: the area's first pages and the records of its first 512 MiB share a 2 MiB
// stretch of address space, so a process that uses a few pages of the area needs one page of page
// tables for both (and one table a level up), where a reservation of their own cost it two more
// pages of tables, each allocated, copied at every fork and freed at exit (in a virtual machine
// that shadows page tables, each of those steps traps). kBelow: the records of kMaxRoom, and 1 MiB
// more, so that in a zone (its start aligned to 128 GiB) the area starts 1 MiB into a 2 MiB stretch.
constexpr size_t kRecordsMax = kMaxRoom / kPageSize * sizeof(Page);
constexpr size_t kBelow = kRecordsMax + (size_t{1} << 20);
constexpr uint64_t kKeptResident = 32;               // empty pages of no heap kept resident, at least
constexpr uint64_t kDecayNs = 1'000'000'000;         // pages of no heap unused for 1-2 s go back

Page* g_free_pages = nullptr;      // empty pages of no heap, disclaimed
Page* g_resident_pages = nullptr;  // empty pages of no heap given up since the last tick: taken first
Page* g_old_pages = nullptr;       // given up before the last tick, still resident: taken next
uint64_t g_free_count = 0, g_resident_count = 0, g_disclaimed = 0;
uint64_t g_tick_ns = 0;            // the last tick of the one-second clock
uint64_t g_given_ns = 0;           // when a page was last given up resident
uint64_t g_peak = 0, g_peak_before = 0;  // most pages held by heaps since the last tick, and before
size_t g_records_committed = 0, g_records_reserved = 0;  // below the area
bool g_records_grow = false;  // in a zone: the records' reservation extends downwards in place
// Pages are committed (made readable and writable) 16 at a time: one system call for 1 MiB of
// fresh pages, not one for each (a program filling 96 MiB of small blocks made 1,536 calls).
// Committed memory costs nothing until it is touched.
constexpr size_t kCommitChunk = 16 * kPageSize;
uintptr_t g_committed_span = 0;
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
  if (span == 0 && g_records_committed == 0 && g_records_reserved >= kRecordChunk) {
    // The first page: its records and the pages side by side around base, in one call.
    uintptr_t end = kCommitChunk < g_area.reserved ? kCommitChunk : g_area.reserved;
    if (os::commit(g_area.base - kRecordChunk, kRecordChunk + end)) {
      g_records_committed = kRecordChunk;
      g_committed_span = end;
    }
  }
  if (record_end > g_records_committed) {
    if (g_records_committed + kRecordChunk > g_records_reserved) {
      // The records' reservation grows with the area, so that address space is taken as use
      // needs it: into the part of the zone below it, which the kernel hands out to no one.
      size_t more = g_records_reserved;
      if (more > kBelow - g_records_reserved) more = kBelow - g_records_reserved;
      if (!g_records_grow || more == 0 || os::reserve_at(g_area.base - g_records_reserved - more, more) != 0)
        return nullptr;
      g_records_reserved += more;
    }
    g_records_committed += kRecordChunk;
    if (!os::commit(g_area.base - g_records_committed, kRecordChunk)) {
      g_records_committed -= kRecordChunk;
      return nullptr;
    }
  }
  if (span + kPageSize > g_committed_span) {
    uintptr_t end = span + kCommitChunk < g_area.reserved ? span + kCommitChunk : g_area.reserved;
    if (!os::commit(g_area.base + span, end - span)) {
      end = span + kPageSize;  // the chunk refused (a limit on committed memory): the page alone
      if (!os::commit(g_area.base + span, kPageSize)) return nullptr;
    }
    g_committed_span = end;
  }
  Page* page = new (g_area.pages - index) Page{};
  page->cls = kNoClass;
  publish_span(span + kPageSize);
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
    Page*& least = a > b ? a : b;  // the records run down as the addresses go up
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
    for (; last->next_spare == last - 1; ++n) last = last->next_spare;
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

}  // namespace

bool open() {
  zones::GrowingArea range;
  uintptr_t start = 0, room_end = 0;
  size_t size = kFirstReserve, below = kBelow;
  // In a zone, the records' first 64 KiB reserved (as much as the area's first 32 MiB need); the
  // rest of the zone below them waits until they grow into it.
  constexpr size_t kFirstRecords = size_t{64} << 10;
  if (zones::within_address_limit(size + below, kPageSize) == size + below)
    start = zones::reserve(kFirstRecords + size, &room_end, false, below - kFirstRecords);
  range.in_zone = start != 0;
  if (range.in_zone) {
    below = kFirstRecords;
    range.room = room_end - (start + below);
  } else {
    // Where the kernel says, the room reserved whole, halved until it is given.
    for (size = zones::within_address_limit(kNoZoneReserve, kPageSize); start == 0 && size >= kPageSize;) {
      below = align_up(size / kPageSize * sizeof(Page), kPageSize);
      start = os::reserve(below + size, kPageSize);
      if (start == 0) size = align_down(size / 2, kPageSize);
    }
    if (start == 0) return false;
    range.room = size;
  }
  range.base = start + below;
  range.reserved = size;
  if (range.room > kMaxRoom) range.room = kMaxRoom;
  static_cast<zones::GrowingArea&>(g_area) = range;
  // A heap about to grow asks for the resident empty pages first (libmalloc/base/reclaim.h): only
  // when g_lock is free at once, for the heap's lock may be held.
  reclaim::pages.give_back = [](void*, size_t) -> size_t {
    if (!g_lock.try_lock()) return 0;
    uint64_t before = g_disclaimed;
    return_all_locked();
    reclaim::pages.keeping.store(false, std::memory_order_relaxed);
    size_t given = (g_disclaimed - before) * kPageSize;
    g_lock.unlock();
    return given;
  };
  g_area.pages = reinterpret_cast<Page*>(g_area.base) - 1;
  g_records_reserved = below;
  g_records_grow = range.in_zone;
  g_records_committed = 0;
  g_committed_span = 0;
  return true;
}

void close() {
  os::release(g_area.base - g_records_reserved, g_records_reserved + g_area.reserved);
  g_area.pages = nullptr;
  g_records_reserved = 0;
}

Page* take_locked(bool* fresh) {
  // With no page resident, a tick would only move the window of the heaps' peak: the clock is read
  // once a page has been given up (its first read costs a page fault, the vDSO's data, in every
  // short process that never gives one up), and the window is then the time since the tick before.
  if (g_resident_count != 0) tick_locked();
  Page* page;
  *fresh = false;
  if ((page = g_resident_pages) != nullptr) {
    g_resident_pages = page->next_spare;
    --g_resident_count;
  } else if ((page = g_old_pages) != nullptr) {
    g_old_pages = page->next_spare;
    --g_resident_count;
  } else if ((page = g_free_pages) != nullptr) {
    g_free_pages = page->next_spare;
    --g_free_count;
    *fresh = true;
  } else {
    page = take_page();
    *fresh = true;
  }
  if (*fresh) page->ready = 0;
  uint64_t held = held_locked();
  if (held > g_peak) g_peak = held;
  return page;
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
  if (!reclaim::pages.keeping.load(std::memory_order_relaxed))
    reclaim::pages.keeping.store(true, std::memory_order_relaxed);
}
void give_back(Page* page) {
  LockGuard guard(g_lock);
  give_back_locked(page);
}

void return_all_locked() {
  disclaim_list_locked(g_old_pages);
  disclaim_list_locked(g_resident_pages);
}
uint64_t disclaimed_locked() { return g_disclaimed; }

void figures_locked(Watson2Figures* out) {
  out->free_pages = g_free_count + g_resident_count;
  out->pages_disclaimed = g_disclaimed;
}

void forget_in_child() {
  g_free_pages = g_resident_pages = g_old_pages = nullptr;
  g_free_count = g_resident_count = 0;
}

}  // namespace pages

// The inline paths' words (watson2.h) follow the area while they are on.
namespace {
using pages::g_on, pages::g_debug_ok, pages::g_align_ok;
void apply_inline() {
  bool on = g_on && g_debug_ok && g_align_ok;
  g_area.fast_below.store(on ? kMaxSmall + 1 : 0, std::memory_order_release);
  g_area.fast_span.store(on ? g_area.used_span.load(std::memory_order_relaxed) : 0, std::memory_order_release);
}
}  // namespace

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
  g_area.mixed = ok;  // set at start-up, before any block
  apply_inline();
}
void set_inline_align(bool ok) {
  LockGuard guard(g_lock);
  g_align_ok = ok;
  apply_inline();
}

}  // namespace aixmalloc::watson2
