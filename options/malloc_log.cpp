// The Malloc Log's state (malloc_log.h): the process's two tables, the capture of each
// allocation's stack, the walk that makes the counts when the log is read, the statistics and
// the fork hooks.
#include "options/malloc_log.h"

#include <algorithm>
#include <atomic>

#include "libmalloc/base/caller.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/format.h"
#include "libmalloc/base/platform.h"
#include "libmalloc/base/os.h"
#include "libmalloc/base/stack_capture.h"

namespace aixmalloc::mlog {
namespace {

AIXMALLOC_LARGE_TABLE constinit LiveTable g_live;
bool g_extended = false;
bool g_started = false;
std::atomic<uint64_t> g_sequence{0};

// Record memory is kept under this much address space whatever the depth.
constexpr size_t kRecordSpace = size_t{256} << 20;

// The record of this call's stack at (heap, size), not counted: the capture (its memo's common
// case inline) and the record's lookup (inline but for a new record). A walk of the memo keeps
// its first record (one more than it): the stack of every later call from the same walk.
[[gnu::always_inline]] inline uint32_t record_of_call(size_t size, unsigned heap) {
  uintptr_t frames[stack::kMaxDepth];
  const caller::Frame& f = caller::frame();
  stack::Result r =
      stack::capture_inline(reinterpret_cast<uintptr_t>(f.ret), f.cfa, f.rbp, frames, g_depth);
  uint32_t record = g_records.intern(heap, size, frames, r.frames, r.truncated);
  if (r.kept != nullptr && *r.kept == 0 && record != kOverflow) *r.kept = record + 1;
  return record;
}

// The counts of the blocks noted with a record of their stack (side arrays and table) are made
// by a walk, one at a time (fork takes this lock first).
constinit Lock g_count_lock;

}  // namespace

bool start(const Config& c) {
  if (g_started) {  // the stack configured again (mallopt(M_MXFAST) before any allocation)
    reset_counts(-1);
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

// walk_record() (malloc_log.h), then the record of (heap, size) with that stack, counted; kNoRecord when not found
// without the slow way. (With `extended`, whose listing needs each block's own record.)
[[gnu::always_inline]] inline uint32_t quick_record(size_t size, unsigned heap) {
  stack::memo::Memo* m = nullptr;
  uint64_t kept = walk_record(caller::frame(), &m);
  if (__builtin_expect(kept == 0, 0)) return kNoRecord;
  uint32_t record = g_records.existing(heap, size, m->first, m->steps[0].ret, m->steps[1].ret,
                                       m->steps[2].ret, g_records.info(static_cast<uint32_t>(kept - 1)).stack_hash);
  if (__builtin_expect(record != kNoRecord, 1)) g_records.add(record);
  return record;
}

// `extended`'s fields of this call. One counter for the process: the sequence is the order of
// the calls.
[[gnu::noinline]] Extended* extended_fields(Extended* ext) {
  ext->seq = g_sequence.fetch_add(1, std::memory_order_relaxed) + 1;
  ext->time_ns = os::realtime_ns();
  ext->tid = static_cast<uint32_t>(os::thread_id());
  ext->pid = static_cast<uint32_t>(os::process_id());
  return ext;
}

// A record into the table: counted, with aux 0; or a record of the block's stack, with aux
// table_aux(size, heap), to be counted when the log is read. With `extended`, the call's fields too.
[[gnu::always_inline]] inline void keep_in_table(void* p, uint32_t record, uint64_t aux = 0) {
  Extended ext;
  uint64_t had_aux = 0;
  uint32_t had = g_live.insert(reinterpret_cast<uintptr_t>(p), record,
                               __builtin_expect(g_extended, 0) ? extended_fields(&ext) : nullptr, true, aux, &had_aux);
  if (had == LiveTable::kNoRoom) {
    if (aux == 0) g_records.drop(record);
  } else if (had != kNoRecord && had_aux == 0) {
    g_records.drop(had);
  }
}

[[gnu::noinline, gnu::flatten]] void note_in_table_slow(void* p, size_t size, unsigned heap) {
  if (stack::t_busy) return;
  stack::t_busy = true;
  uint32_t record = record_of_call(size, heap);
  g_records.add(record);
  keep_in_table(p, record);
  stack::t_busy = false;
}

// The record of (heap, size) with the stack of record `rep`: rep itself if it is that, else the
// record of (heap, size, rep's stack), made if new.
uint32_t record_like(uint32_t rep, size_t size, unsigned heap) {
  if (rep == kOverflow || rep >= g_records.count()) return kOverflow;
  const RecordInfo& in = g_records.info(rep);
  if (g_records.record(rep).size == size && in.heap == heap) return rep;
  uint64_t hash = in.stack_hash;
  return g_records.intern(heap, size, g_records.frames(rep), in.frames, in.truncated, &hash);
}

}  // namespace

// Any other call (malloc_log.h's note_side): the capture may walk the stack and look its rules
// up (pthread_getattr_np may allocate, once per thread: t_busy), and the record may be new.
[[gnu::noinline, gnu::flatten]] void note_side_slow(side::Entry* e, size_t size) {
  if (stack::t_busy) return;  // an allocation made by the capture itself
  stack::t_busy = true;
  uint32_t record = record_of_call(size, 0);
  e->store(side::value(record, size), std::memory_order_relaxed);
  stack::t_busy = false;
}

[[gnu::flatten]] void note_allocation(void* p, size_t size, unsigned heap) {
  if (SideOf side_of = g_side_of) {
    if (side::Entry* e = side_of(p)) return note_side(e, size, caller::frame());
  }
  if (__builtin_expect(!g_extended, 1)) {
    if (uint64_t kept = walk_record(caller::frame())) {
      // A signal handler's allocation meanwhile is not logged: the stripe's lock is held.
      stack::t_busy = true;
      keep_in_table(p, static_cast<uint32_t>(kept - 1), table_aux(size, heap));
      stack::t_busy = false;
      return;
    }
  } else if (uint32_t record = quick_record(size, heap); record != kNoRecord) {
    stack::t_busy = true;
    keep_in_table(p, record);
    stack::t_busy = false;
    return;
  }
  note_in_table_slow(p, size, heap);
}

Taken forget(void* p, Extended* ext) {
  if (SideOf side_of = g_side_of) {
    side::Entry* e = side_of(p);
    if (e != nullptr && e->load(std::memory_order_relaxed) != 0) {
      if (ext) *ext = Extended{};
      return forget_side(e, p);
    }
  }
  uint64_t aux = 0;
  uint32_t had = g_live.remove(reinterpret_cast<uintptr_t>(p), ext, &aux);
  if (had != kNoRecord && aux == 0) g_records.drop(had);
  return Taken{aux, had, false};
}

void restore(void* p, Taken taken, const Extended& ext) {
  if (taken.side) {  // p is the block it was: its entry is where the value came from
    if (side::Entry* e = g_side_of ? g_side_of(p) : nullptr) e->store(taken.value, std::memory_order_relaxed);
    return;
  }
  uint32_t record = taken.record;
  uint64_t aux = taken.value;
  if (aux == 0) g_records.add(record);
  uint64_t had_aux = 0;
  uint32_t had = g_live.insert(reinterpret_cast<uintptr_t>(p), record, &ext, false, aux, &had_aux);
  if (had == LiveTable::kNoRoom) {
    if (aux == 0) g_records.drop(record);
  } else if (had != kNoRecord && had_aux == 0) {
    g_records.drop(had);
  }
}

LiveTable& live() { return g_live; }
unsigned depth() { return g_depth; }
bool extended() { return g_extended; }

// Sites: records counted by distinct stack, through a sorted copy of their stack hashes in memory
// of its own (no allocation: callable from the live-statistics signal handler).
void totals(MallocLogFigures* out, uint64_t side_allocations) {
  refresh_counts();
  uint32_t n = g_records.count();
  out->records = n;
  out->logged = g_live.logged() + side_allocations;
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

// Reads the side arrays' entries; intern() may make a record (under the records' lock, t_busy
// set as on every slow path, so that a signal handler's allocation meanwhile is not logged).
void refresh_counts() {
  if (g_extended) return;  // every block is in the table, with its own record, counted
  LockGuard g(g_count_lock);
  bool was_busy = stack::t_busy;
  stack::t_busy = true;
  g_records.begin_walk();
  uint64_t last = 0;
  uint32_t record = kOverflow;
  if (side::g_on) {
    side::for_each_entry([&](uint64_t v) {
      // A run of one kind of block: once.
      if (v != last) last = v, record = record_like(side::rep_of(v), side::size_of(v), 0);
      g_records.see_in_walk(record);
    });
  }
  // The table's entries whose count is made here, under each stripe's lock in turn. A record
  // made meanwhile takes the records' lock inside a stripe's: the one thread that takes them the
  // other way round, fork's lock_all(), takes the count lock first, which this walk holds; no
  // other holder of the records' lock waits for a stripe.
  uint32_t last_rep = kNoRecord;
  uint64_t last_aux = 0;
  g_live.for_each_deferred([&](uint32_t rep, uint64_t aux) {
    if (rep != last_rep || aux != last_aux)
      last_rep = rep, last_aux = aux, record = record_like(rep, aux_size(aux), aux_heap(aux));
    g_records.see_in_walk(record);
  });
  g_records.end_walk();
  stack::t_busy = was_busy;
}

void reset_counts(int heap) {
  LockGuard g(g_count_lock);
  g_live.filter([&](uint32_t rec, uint64_t aux) {
    return heap >= 0 && (aux != 0 ? aux_heap(aux) : g_records.info(rec).heap) != static_cast<unsigned>(heap);
  });
  if (heap <= 0) side::clear_all();  // the pool's and watson2's blocks: heap 0
  g_records.zero_counts(heap);
}

// Fork: the count lock, the records' lock, then every stripe's, in index order.
void lock_all() {
  g_count_lock.lock();
  g_records.lock().lock();
  g_live.lock_all();
}
void unlock_all() {
  g_live.unlock_all();
  g_records.lock().unlock();
  g_count_lock.unlock();
}
void reset_in_child() {
  g_live.reset_locks_in_child();
  g_records.lock().reset_in_child();
  g_count_lock.reset_in_child();
}
// A child forked without the locks: a table may be half-way through a change, so the log stops
// there (its report says so by having no sites; the program goes on unlogged).
void set_aside_in_child() {
  g_on = false;
  reset_in_child();
}

}  // namespace aixmalloc::mlog
