// The Malloc Log's state (malloc_log.h): the process's two tables, the capture of each
// allocation's stack, the statistics and the fork hooks.
#include "options/malloc_log.h"

#include <algorithm>
#include <atomic>

#include "libmalloc/base/caller.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/format.h"
#include "libmalloc/base/os.h"
#include "libmalloc/base/stack_capture.h"

namespace aixmalloc::mlog {
namespace {

constinit LiveTable g_live;
unsigned g_depth = 4;
bool g_extended = false;
bool g_started = false;
std::atomic<uint64_t> g_sequence{0};

// Record memory is kept under this much address space whatever the depth.
constexpr size_t kRecordSpace = size_t{256} << 20;

// Allocations noted in the side arrays since start, by thread (a statistic: the table counts its
// own per stripe). A thread takes a counter of its own on its first note, shared past 64 threads.
struct alignas(64) Counter {
  uint64_t n;
};
Counter g_side_logged[64];
std::atomic<unsigned> g_side_counters{0};
__thread uint64_t* t_side_counter = nullptr;  // this thread's; null until its first note

[[gnu::noinline]] uint64_t* take_side_counter() {
  unsigned i = g_side_counters.fetch_add(1, std::memory_order_relaxed) % 64;
  return t_side_counter = &g_side_logged[i].n;
}

// `alone`: __libc_single_threaded, read once for this and the record's count (lock.h says why a
// plain add is then safe).
[[gnu::always_inline]] inline void count_side_note(bool alone) {
  uint64_t* n = t_side_counter;
  if (__builtin_expect(n == nullptr, 0)) n = take_side_counter();
  if (alone)
    __atomic_store_n(n, __atomic_load_n(n, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
  else
    __atomic_fetch_add(n, 1, __ATOMIC_RELAXED);
}

// The record of this call's stack at (heap, size), counted once more: the capture (its memo's
// common case inline) and the record's lookup (inline but for a new record).
[[gnu::always_inline]] inline uint32_t record_of_call(size_t size, unsigned heap) {
  uintptr_t frames[stack::kMaxDepth];
  const caller::Frame& f = caller::frame();
  stack::Result r =
      stack::capture_inline(reinterpret_cast<uintptr_t>(f.ret), f.cfa, f.rbp, frames, g_depth);
  uint32_t record = g_records.intern(heap, size, frames, r.frames, r.truncated, r.kept);
  g_records.add(record);
  return record;
}

}  // namespace

bool start(const Config& c) {
  if (g_started) {  // the stack configured again (mallopt(M_MXFAST) before any allocation)
    g_live.filter([](uint32_t) { return false; });
    side::clear_all();
    g_records.zero_counts(-1);
    return true;
  }
  g_depth = static_cast<unsigned>(c.value(OptionId::kStackDepth));
  if (g_depth == 0 || g_depth > stack::kMaxDepth) g_depth = 4;
  g_extended = c.debug.log_extended;
  size_t per_record = sizeof(Record) + sizeof(RecordInfo) + g_depth * sizeof(uintptr_t) + sizeof(uint32_t);
  size_t capacity = kRecordSpace / per_record;
  if (!g_records.init(g_depth, capacity > kMaxRecords ? kMaxRecords : static_cast<uint32_t>(capacity)) ||
      !g_live.init(g_extended)) {
    g_records.destroy();
    g_live.destroy();
    static const char kNoRoom[] = "MALLOCDEBUG: log: no address space for the Malloc Log; the log is off";
    warn(kNoRoom, sizeof(kNoRoom) - 1);
    return false;
  }
  caller::g_wanted = true;
  g_started = true;
  return true;
}

static_assert(stack::memo::kSteps + 1 == kApiDepth,
              "the memo's default depth is the records' callers");

namespace {

// The common case, in few registers and without a frame of 64 return addresses: the default
// depth, the walk in this thread's memo and its record made already. Counted; kNoRecord when the
// call is not that case (then the capture and intern() the slow way). Nothing on the way
// allocates, so t_busy is only read.
[[gnu::always_inline]] inline uint32_t quick_record(size_t size, unsigned heap) {
  if (__builtin_expect(g_depth != stack::memo::kSteps + 1 || stack::t_busy, 0)) return kNoRecord;
  const caller::Frame& f = caller::frame();
  uintptr_t first = reinterpret_cast<uintptr_t>(f.ret);
  stack::memo::Memo* m = stack::recall_default(first, f.cfa, f.rbp);
  if (__builtin_expect(m == nullptr || m->kept == 0, 0)) return kNoRecord;
  uint32_t record = g_records.existing(heap, size, first, m->steps[0].ret, m->steps[1].ret,
                                       m->steps[2].ret, m->kept);
  if (__builtin_expect(record != kNoRecord, 1)) g_records.add(record);
  return record;
}

// A counted record, into the block's side entry.
[[gnu::always_inline]] inline void keep_in(side::Entry* e, uint32_t record) {
  uint32_t had = e->load(std::memory_order_relaxed);
  e->store(record + 1, std::memory_order_relaxed);
  // A block freed while the log could not see it.
  if (__builtin_expect(had != 0, 0)) g_records.drop(had - 1);
  count_side_note(__libc_single_threaded);
}

// A counted record, into the table (with `extended`, the call's fields too).
[[gnu::always_inline]] inline void keep_in_table(void* p, uint32_t record) {
  Extended ext{};
  if (g_extended) {  // one counter for the process: the sequence is the order of the calls
    ext.seq = g_sequence.fetch_add(1, std::memory_order_relaxed) + 1;
    ext.time_ns = os::realtime_ns();
    ext.tid = static_cast<uint32_t>(os::thread_id());
    ext.pid = static_cast<uint32_t>(os::process_id());
  }
  uint32_t had = g_live.insert(reinterpret_cast<uintptr_t>(p), record, g_extended ? &ext : nullptr);
  if (had == LiveTable::kNoRoom) {
    g_records.drop(record);
  } else if (had != kNoRecord) {
    g_records.drop(had);
  }
}

// Any other call: the capture may walk the stack and look its rules up (pthread_getattr_np may
// allocate, once per thread: t_busy), and the record may be new.
[[gnu::noinline, gnu::flatten]] void note_side_slow(side::Entry* e, size_t size) {
  if (stack::t_busy) return;  // an allocation made by the capture itself
  stack::t_busy = true;
  keep_in(e, record_of_call(size, 0));
  stack::t_busy = false;
}

[[gnu::noinline, gnu::flatten]] void note_in_table_slow(void* p, size_t size, unsigned heap) {
  if (stack::t_busy) return;
  stack::t_busy = true;
  keep_in_table(p, record_of_call(size, heap));
  stack::t_busy = false;
}

}  // namespace

[[gnu::flatten]] void note_side(side::Entry* e, size_t size) {
  uint32_t record = quick_record(size, 0);
  if (__builtin_expect(record != kNoRecord, 1)) return keep_in(e, record);
  note_side_slow(e, size);
}

[[gnu::flatten]] void note_allocation(void* p, size_t size, unsigned heap) {
  if (SideOf side_of = g_side_of) {
    if (side::Entry* e = side_of(p)) return note_side(e, size);
  }
  uint32_t record = quick_record(size, heap);
  if (__builtin_expect(record != kNoRecord, 1)) {
    // A signal handler's allocation meanwhile is not logged: the stripe's lock is held.
    stack::t_busy = true;
    keep_in_table(p, record);
    stack::t_busy = false;
    return;
  }
  note_in_table_slow(p, size, heap);
}

uint32_t forget(void* p, Extended* ext) {
  if (SideOf side_of = g_side_of) {
    side::Entry* e = side_of(p);
    if (e != nullptr && e->load(std::memory_order_relaxed) != 0) {
      if (ext) *ext = Extended{};
      return forget_side(e, p);
    }
  }
  uint32_t had = g_live.remove(reinterpret_cast<uintptr_t>(p), ext);
  if (had != kNoRecord) g_records.drop(had);
  return had;
}

void restore(void* p, uint32_t record, const Extended& ext) {
  g_records.add(record);
  if (SideOf side_of = g_side_of) {
    if (side::Entry* e = side_of(p)) {
      uint32_t had = e->exchange(record + 1, std::memory_order_relaxed);
      if (had != 0) g_records.drop(had - 1);
      return;
    }
  }
  uint32_t had = g_live.insert(reinterpret_cast<uintptr_t>(p), record, &ext, false);
  if (had == LiveTable::kNoRoom) {
    g_records.drop(record);
  } else if (had != kNoRecord) {
    g_records.drop(had);
  }
}

LiveTable& live() { return g_live; }
unsigned depth() { return g_depth; }
bool extended() { return g_extended; }

// Sites: records counted by distinct stack, through a sorted copy of their stack hashes in memory
// of its own (no allocation: callable from the live-statistics signal handler).
void totals(MallocLogFigures* out) {
  uint32_t n = g_records.count();
  out->records = n;
  uint64_t logged = g_live.logged();
  for (const Counter& c : g_side_logged) logged += __atomic_load_n(&c.n, __ATOMIC_RELAXED);
  out->logged = logged;
  out->overflow = g_records.record(kOverflow).cnt;
  out->truncated = g_records.truncated();
  out->metadata = g_records.metadata_bytes() + g_live.metadata_bytes() + side::resident_bytes();
  // Live: every record's count (a block in the table or in a side array counts in its record).
  uint64_t bytes = 0, live = out->overflow;
  for (uint32_t i = 0; i < n; ++i) {
    const Record& r = g_records.record(i);
    size_t cnt = __atomic_load_n(&r.cnt, __ATOMIC_RELAXED);
    bytes += r.size * cnt;
    live += cnt;
  }
  out->live_bytes = bytes;
  out->live = live;
  size_t space = align_up(size_t{n} * sizeof(uint64_t) + 1, page_size());
  if (auto* hashes = reinterpret_cast<uint64_t*>(os::map(space, page_size()))) {
    for (uint32_t i = 0; i < n; ++i) hashes[i] = g_records.info(i).stack_hash;
    std::sort(hashes, hashes + n);
    out->sites = static_cast<uint64_t>(std::unique(hashes, hashes + n) - hashes);
    os::release(reinterpret_cast<uintptr_t>(hashes), space);
  }
  stack::Counters c;
  stack::counters(&c);
  out->rules = c.cached_rules;
  out->rule_misses = c.misses;
  out->walked = c.walked;
  out->rules_forgotten = c.forgotten;
}

// Fork: the records' lock, then every stripe's, in index order.
void lock_all() {
  g_records.lock().lock();
  g_live.lock_all();
}
void unlock_all() {
  g_live.unlock_all();
  g_records.lock().unlock();
}
void reset_in_child() {
  g_live.reset_locks_in_child();
  g_records.lock().reset_in_child();
}
// A child forked without the locks: a table may be half-way through a change, so the log stops
// there (its report says so by having no sites; the program goes on unlogged).
void set_aside_in_child() {
  g_on = false;
  reset_in_child();
}

}  // namespace aixmalloc::mlog
