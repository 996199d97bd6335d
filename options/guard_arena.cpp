// The guard arena (guard_arena.h): the reserved range, its page table and run records, the runs'
// free lists by size class and the quarantine. One lock guards the lists; the page table and the
// records are read without it by the fault handler, which only reports.
#include "options/guard_arena.h"

#include <atomic>
#include <cstring>

#include "libmalloc/base/address_map.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/format.h"
#include "libmalloc/base/os.h"
#include "libmalloc/base/platform.h"
#include "libmalloc/base/zones.h"

namespace aixmalloc::guard {
namespace {

enum State : uint8_t { kUnused, kLive, kQuarantined, kFree };

// One per run, for the run's life. 32 bytes.
struct Record {
  uintptr_t user;
  uint64_t size;
  uint32_t first_page;  // the run's first page, counted from the arena's base
  uint32_t pages;       // data pages and the guard page
  uint32_t next;        // free list or quarantine
  int32_t thread : 24;
  uint32_t state : 7;
  uint32_t hidden : 1;  // its data pages are inaccessible (freed and given back)
};
static_assert(sizeof(Record) == 32);

constexpr unsigned kExactClasses = 64;  // runs of 1..64 pages: a class each
constexpr unsigned kClasses = kExactClasses + 4 * 40;

// The arena and its tables: reserved at start-up, committed as they fill.
// Each of the three (the arena, its page table, its records) reserves little at first and grows in
// place in a zone of its own (libmalloc/base/zones.h), so the address space taken follows use
// (RLIMIT_AS counts reservations). Where no zone can be had (valgrind, sanitizers), each reserves
// its whole size at once, for an arena of kFallbackArena.
constexpr size_t kFirstReserve = size_t{1} << 20;
constexpr size_t kFallbackArena = size_t{4} << 30;
constexpr size_t kCommitStep = size_t{1} << 20;
// Freed runs kept as they are for reuse (without postfree_checking): a new page costs a page fault
// and a hidden one two system calls, so a program that frees and allocates again reuses warm
// pages. Beyond this many bytes, freed runs are hidden and their memory given back.
constexpr size_t kWarmBytes = size_t{32} << 20;

Settings g_settings;
std::atomic<bool> g_enabled{false};
bool g_madvise_guards = false;  // MADV_GUARD_INSTALL works here
size_t g_page = 4096;
unsigned g_page_shift = 12;
// A reservation that grows in place up to `room`, committed (read-write) from its base.
struct Range {
  uintptr_t base = 0;
  uintptr_t end = 0;   // reserved up to here
  uintptr_t room = 0;  // may grow up to here
  size_t committed = 0;
};
AIXMALLOC_COLD Range g_arena, g_table_range, g_record_range;
uintptr_t g_base = 0, g_end = 0;  // g_arena's base and room
uintptr_t g_bump = 0;       // the next page never used
uintptr_t g_assigned = 0;   // in the address map up to here (whole granules)
bool g_frozen = false;      // a child forked without the locks: the arena is left as it was
std::atomic<uint32_t>* g_page_table = nullptr;  // a record number per page; 0: never used
Record* g_records = nullptr;                    // record 0 is unused
uint32_t g_record_count = 1;

AIXMALLOC_COLD uint32_t g_free_runs[kClasses] = {};
uint32_t g_quarantine_head = 0, g_quarantine_tail = 0;
bool g_full_reported = false;

size_t g_warm_bytes = 0;
AIXMALLOC_COLD GuardFigures g_figures;
std::atomic<uint64_t> g_misuse{0};
AIXMALLOC_FORK_LOCK Lock g_lock;

uintptr_t page_addr(uint32_t page) { return g_base + (uintptr_t{page} << g_page_shift); }
uintptr_t guard_page(const Record& r) { return page_addr(r.first_page + r.pages - 1); }
size_t data_bytes(const Record& r) { return size_t{r.pages - 1} << g_page_shift; }

unsigned class_of(size_t pages) {
  if (pages <= kExactClasses) return static_cast<unsigned>(pages - 1);
  unsigned log = 63u - static_cast<unsigned>(__builtin_clzll(pages - 1));  // 2^log < pages <= 2^(log+1)
  size_t quarter = size_t{1} << (log - 2);
  unsigned step = static_cast<unsigned>((pages - 1 - (size_t{1} << log)) / quarter);  // 0..3
  return kExactClasses + 4 * (log - 6) + step;
}
size_t class_pages(unsigned c) {
  if (c < kExactClasses) return c + 1;
  unsigned log = (c - kExactClasses) / 4 + 6, step = (c - kExactClasses) % 4;
  return (size_t{1} << log) + (size_t{step} + 1) * (size_t{1} << (log - 2));
}

const Record* record_at(uintptr_t addr) {
  if (addr < g_base || addr >= g_bump) return nullptr;
  uint32_t id = g_page_table[(addr - g_base) >> g_page_shift].load(std::memory_order_acquire);
  return id ? &g_records[id] : nullptr;
}

void describe(const Record& r, BlockInfo* info) {
  info->user = r.user;
  info->size = r.size;
  info->thread = r.thread;
  info->live = r.state == kLive;
}

void say_once(const char* why) {
  if (g_full_reported) return;
  g_full_reported = true;
  TextBuf<300> t;
  t.str("MALLOCDEBUG: catch_overflow: ").str(why).str("; further blocks are served without a guard page");
  warn(t.data(), t.size());
}

// Reserves a range of at least `first` bytes that may grow to `fallback` bytes or more.
bool open_range(Range* r, size_t first, size_t fallback) {
  uintptr_t room = 0;
  if ((r->base = zones::reserve(first, &room)) != 0) {
    r->end = r->base + first;
    r->room = room;
    return true;
  }
  if ((r->base = os::reserve(fallback, kGranule)) == 0) return false;
  r->end = r->room = r->base + fallback;
  return true;
}

// Makes [base, base + need) readable and writable, growing the reservation (doubling) if needed.
bool ensure(Range* r, size_t need) {
  if (need <= r->committed) return true;
  size_t to = (need + kCommitStep - 1) & ~(kCommitStep - 1);
  if (r->base + to > r->room) return false;
  if (r->base + to > r->end) {
    size_t more = r->end - r->base;
    if (r->end + more < r->base + to) more = r->base + to - r->end;
    if (r->end + more > r->room) more = r->room - r->end;
    if (!zones::extend(r->end, more)) return false;
    r->end += more;
  }
  if (!os::commit(r->base + r->committed, to - r->committed)) return false;
  r->committed = to;
  return true;
}

// Hides a run's data pages (freed: a use faults, the memory goes back) or shows them (reused).
void hide(Record& r) {
  uintptr_t start = page_addr(r.first_page);
  bool done;
  if (g_madvise_guards) {
    done = os::guard_install(start, data_bytes(r));
  } else {
    os::disclaim(start, data_bytes(r));
    done = os::protect(start, data_bytes(r), os::Access::kNone);
  }
  r.hidden = done;
  if (!done) g_warm_bytes += data_bytes(r);  // the kernel refused: the run stays as it is
}
bool show(Record& r) {
  if (!r.hidden) {
    g_warm_bytes -= data_bytes(r);
    return true;
  }
  uintptr_t start = page_addr(r.first_page);
  bool done = g_madvise_guards ? os::guard_remove(start, data_bytes(r))
                               : os::protect(start, data_bytes(r), os::Access::kReadWrite);
  if (done) r.hidden = 0;
  return done;
}
bool install_guard(uintptr_t page) {
  if (g_settings.allow_overreading) return os::protect(page, g_page, os::Access::kRead);
  if (g_madvise_guards) return os::guard_install(page, g_page);
  return os::protect(page, g_page, os::Access::kNone);
}

// A run of `pages` pages from the untouched end of the arena, its pages recorded. Lock held.
uint32_t carve(size_t pages) {
  size_t bytes = pages << g_page_shift;
  if (bytes > g_end - g_bump) {
    say_once("the guard arena is full");
    return 0;
  }
  uint32_t id = g_record_count;
  if (!ensure(&g_record_range, (size_t{id} + 1) * sizeof(Record)) ||
      !ensure(&g_table_range, (((g_bump - g_base) >> g_page_shift) + pages) * sizeof(uint32_t)) ||
      !ensure(&g_arena, g_bump - g_base + bytes)) {
    // Near the mapping limit the arena's own growth may be what the kernel refuses first (where
    // it cannot grow in place, each step is a mapping of its own): the same limit, so the same hint.
    say_once("the system refuses memory for the guard arena (no memory left, or vm.max_map_count "
             "mappings; see aixmalloc(7), catch_overflow)");
    return 0;
  }
  uintptr_t start = g_bump;
  if (!install_guard(start + bytes - g_page)) {
    say_once("the kernel refuses more mappings (vm.max_map_count; see aixmalloc(7), catch_overflow)");
    return 0;
  }
  if (g_bump + bytes > g_assigned) {  // the address map learns the arena granule by granule
    uintptr_t to = (g_bump + bytes + kGranule - 1) & ~(kGranule - 1);
    if (!address_map().assign(g_assigned, to - g_assigned, Owner::make(OwnerKind::kGuarded, nullptr))) {
      say_once("no memory for the address map");
      return 0;
    }
    g_assigned = to;
  }
  g_bump += bytes;
  ++g_record_count;
  Record& r = g_records[id];
  r.first_page = static_cast<uint32_t>((start - g_base) >> g_page_shift);
  r.pages = static_cast<uint32_t>(pages);
  for (size_t i = 0; i < pages; ++i) g_page_table[r.first_page + i].store(id, std::memory_order_release);
  g_figures.arena_bytes += bytes;
  if (g_madvise_guards && !g_settings.allow_overreading) ++g_figures.page_table_guards;
  return id;
}

// A free run of the class, its data pages usable again. Lock held.
uint32_t reuse(unsigned c) {
  uint32_t id = g_free_runs[c];
  if (id == 0) return 0;
  Record& r = g_records[id];
  if (!show(r)) {
    say_once("the kernel refuses more mappings (vm.max_map_count; see aixmalloc(7), catch_overflow)");
    return 0;
  }
  g_free_runs[c] = r.next;
  return id;
}

// Quarantined runs leave for the free lists, oldest first, while the quarantine is over its bound.
void drain_quarantine() {
  while (g_quarantine_head && g_figures.quarantine_bytes > g_settings.quarantine_bytes) {
    Record& r = g_records[g_quarantine_head];
    g_quarantine_head = r.next;
    if (g_quarantine_head == 0) g_quarantine_tail = 0;
    g_figures.quarantine_bytes -= data_bytes(r);
    --g_figures.quarantine_blocks;
    r.state = kFree;
    unsigned c = class_of(r.pages);
    r.next = g_free_runs[c];
    g_free_runs[c] = static_cast<uint32_t>(&r - g_records);
  }
}

}  // namespace

bool configure(const Settings& s) {
  g_settings = s;
  if (g_enabled.load(std::memory_order_relaxed)) return true;  // mallopt rebuilt the stack
  g_page = page_size();
  g_page_shift = static_cast<unsigned>(__builtin_ctzll(g_page));
  size_t fallback_pages = kFallbackArena >> g_page_shift;
  if (!open_range(&g_arena, kFirstReserve, kFallbackArena) ||
      !open_range(&g_table_range, kFirstReserve, fallback_pages * sizeof(uint32_t)) ||
      !open_range(&g_record_range, kFirstReserve, (fallback_pages / 2 + 2) * sizeof(Record))) {
    static const char kNo[] = "MALLOCDEBUG: catch_overflow: no address space for the guard arena; catch_overflow is off";
    warn(kNo, sizeof(kNo) - 1);
    return false;  // what was reserved stays, unused
  }
  // The tables bound the arena: a page-table entry per page, a record per run of two pages or more.
  size_t most_pages = (g_table_range.room - g_table_range.base) / sizeof(uint32_t);
  size_t by_records = (g_record_range.room - g_record_range.base) / sizeof(Record) * 2;
  if (by_records < most_pages) most_pages = by_records;
  if (most_pages > (size_t{1} << 32) - 2) most_pages = (size_t{1} << 32) - 2;  // 32-bit page numbers
  if (g_arena.room - g_arena.base > (most_pages << g_page_shift)) g_arena.room = g_arena.base + (most_pages << g_page_shift);
  g_page_table = reinterpret_cast<std::atomic<uint32_t>*>(g_table_range.base);
  g_records = reinterpret_cast<Record*>(g_record_range.base);
  g_base = g_arena.base;
  g_end = g_arena.room;
  g_bump = g_assigned = g_base;
  // Does this kernel have MADV_GUARD_INSTALL? Try it on the arena's first page.
  if (ensure(&g_arena, g_page))
    g_madvise_guards = !s.force_mprotect && os::guard_install(g_base, g_page) && os::guard_remove(g_base, g_page);
  g_enabled.store(true, std::memory_order_release);
  return true;
}

bool enabled() { return g_enabled.load(std::memory_order_acquire); }

void* allocate(size_t size, size_t align) {
  // An ordinary request (the runtime's default alignment) takes MALLOCDEBUG's align:n, which may
  // be smaller (1: byte-exact); an aligned one (memalign) keeps its alignment.
  size_t wanted = g_settings.align ? g_settings.align : 1;
  if (align <= kAlignment || align < wanted) align = wanted;
  // Data pages for the block, with room to round its start down to the alignment.
  if (size > (g_end - g_base) / 4) return nullptr;
  size_t data = (size + align - 1 + g_page - 1) >> g_page_shift;
  if (data == 0) data = 1;
  unsigned c = class_of(data + 1);
  LockGuard hold(g_lock);
  if (g_frozen) return nullptr;
  uint32_t id = reuse(c);
  if (id == 0) id = carve(class_pages(c));
  if (id == 0) {
    ++g_figures.unguarded;
    return nullptr;
  }
  Record& r = g_records[id];
  uintptr_t user = (guard_page(r) - size) & ~(uintptr_t{align} - 1);
  r.user = user;
  r.size = size;
  r.next = 0;
  r.thread = os::thread_id();
  r.state = kLive;
  ++g_figures.live_blocks;
  g_figures.live_bytes += size;
  ++g_figures.guarded;
  return reinterpret_cast<void*>(user);
}

Verdict check(const void* p, BlockInfo* info) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  const Record* r = record_at(a);
  if (r == nullptr || r->state == kUnused) return Verdict::kNotABlock;
  describe(*r, info);
  if (r->user == a) return r->state == kLive ? Verdict::kLive : Verdict::kDoubleFree;
  if (r->state == kLive && a > r->user && a < r->user + r->size) return Verdict::kInterior;
  return Verdict::kNotABlock;
}

void release(void* p) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  LockGuard hold(g_lock);
  if (g_frozen) return;
  Record* r = const_cast<Record*>(record_at(a));
  if (r == nullptr || r->state != kLive || r->user != a) return;  // checked by the caller; raced
  --g_figures.live_blocks;
  g_figures.live_bytes -= r->size;
  r->thread = os::thread_id();
  if (g_settings.postfree_checking) {
    hide(*r);
    r->state = kQuarantined;
    r->next = 0;
    uint32_t id = static_cast<uint32_t>(r - g_records);
    if (g_quarantine_tail) g_records[g_quarantine_tail].next = id;
    else g_quarantine_head = id;
    g_quarantine_tail = id;
    ++g_figures.quarantine_blocks;
    g_figures.quarantine_bytes += data_bytes(*r);
    drain_quarantine();
    return;
  }
  r->state = kFree;
  if (g_warm_bytes + data_bytes(*r) <= kWarmBytes) g_warm_bytes += data_bytes(*r);
  else hide(*r);
  unsigned c = class_of(r->pages);
  r->next = g_free_runs[c];
  g_free_runs[c] = static_cast<uint32_t>(r - g_records);
}

size_t usable_size(const void* p) {
  const Record* r = record_at(reinterpret_cast<uintptr_t>(p));
  return r ? guard_page(*r) - r->user : 0;
}

size_t requested_size(const void* p) {
  const Record* r = record_at(reinterpret_cast<uintptr_t>(p));
  return r ? r->size : 0;
}

bool any_allocation() { return g_figures.guarded != 0; }

Site classify(uintptr_t addr, BlockInfo* info) {
  if (!enabled() || addr < g_base || addr >= g_end) return Site::kOutside;
  const Record* r = record_at(addr);
  if (r == nullptr || r->state == kUnused) return Site::kUnused;
  describe(*r, info);
  if (r->state != kLive) return Site::kFreed;
  if (addr >= guard_page(*r)) return Site::kPastEnd;
  return Site::kUnused;  // a live data page does not fault
}

void count_misuse() { g_misuse.fetch_add(1, std::memory_order_relaxed); }

void totals(GuardFigures* out) {
  LockGuard hold(g_lock);
  *out = g_figures;
  out->misuse = g_misuse.load(std::memory_order_relaxed);
}

Lock& fork_lock() { return g_lock; }

void set_aside_in_child() {
  g_frozen = true;
  g_lock.reset_in_child();
}

}  // namespace aixmalloc::guard
