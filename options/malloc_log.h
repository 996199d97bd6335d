// MALLOCDEBUG=log[:extended], stack_depth:n, report_allocations, record_allocations: the Malloc
// Log, the first layer of the stack when it is on (above catch_overflow, so guarded blocks are
// logged too). Each live allocation has a record of its heap, size and stack (to stack_depth
// frames), aggregated by (heap, size, stack) with a count as AIX's struct malloc_log is; with
// `extended`, each allocation also keeps the pid, thread, sequence number and time.
//
// The stack is captured after the layers below have served the request, so no allocator lock is
// held (libmalloc/base/stack_capture.h); the tables (malloc_log_table.h) have locks of their own,
// taken at fork before every lock below. A block leaves the log before the layers below free it:
// once freed there, another thread may be handed the same address and log it.
//
// Off, each call costs one predictable branch. On, the pool's inline fast path is turned off
// (pool::g_fast), so the exported malloc and free reach this layer, and the entry points note
// the program's frame (return address, stack pointer, rbp: caller.h), where the recorded stack
// starts.
#pragma once

#include <cstddef>
#include <cstdint>

#include "libmalloc/base/address_map.h"
#include "libmalloc/base/caller.h"
#include "libmalloc/base/config.h"
#include "libmalloc/base/debug_output.h"
#include "libmalloc/base/stack_capture.h"
#include "libmalloc/base/statistics.h"
#include "options/malloc_log_side.h"
#include "options/malloc_log_table.h"
#include "options/pool.h"

namespace aixmalloc::mlog {

// On for this process (cleared in a child forked from a signal handler inside the allocator,
// whose tables may be half-way through a change).
inline bool g_on = false;

// The records, here so that a block's forgetting runs inline on free's path.
[[gnu::visibility("hidden")]] AIXMALLOC_COLD inline constinit Records g_records;
inline Records& records() { return g_records; }

// The side entry of a block of the pool or of watson2 (malloc_log_side.h), nullptr for any other
// block: the runtime's, which knows both, set once while the side arrays are on (side::g_on).
// The log's own paths (realloc, calloc, the whole stack's) find a block's entry through it; malloc
// and free under the log alone compute it inline (libmalloc/requests.cpp).
using SideOf = side::Entry* (*)(const void* p);
inline SideOf g_side_of = nullptr;

// Sets the tables up from the configuration; false (one line said why) when the log cannot run.
bool start(const Config& c);
// The allocation of `size` bytes at p from heap `heap`: captures the caller's stack and records it.
void note_allocation(void* p, size_t size, unsigned heap);
// What forget() took from a block, for restore(): a side entry's value, or a table entry's record
// and aux (malloc_log_table.h), or nothing.
struct Taken {
  uint64_t value = 0;            // the side entry's value, or the table entry's aux
  uint32_t record = kNoRecord;   // the table entry's record
  bool side = false;
  bool any() const { return side || record != kNoRecord; }
};
// p is freed (or about to move): forgets it; what it had (and extended fields) for restore().
Taken forget(void* p, Extended* ext = nullptr);
void restore(void* p, Taken had, const Extended& ext);
// The stack depth (stack_depth:n); 4 by default.
[[gnu::visibility("hidden")]] inline constinit unsigned g_depth = 4;
// note_allocation() of a block (heap 0) whose side entry is e, inline in malloc under the log
// alone: the common case is the default depth with the caller's walk in this thread's memo
// (stack_capture.h), which keeps one more than a record of its stack. The entry takes that and
// the size; the walk over the arrays counts it (refresh_counts). A value already there is a
// block freed while the log could not see it: replaced. Anything else: note_side_slow().
// `f`: the program's frame, as the entry point noted it (caller::frame()) or passed it on in
// registers; the slow path reads it from caller::frame(), where it is then stored.
void note_side_slow(side::Entry* e, size_t size);
// The common case of every note, with no call and nothing allocated (t_busy is only read): the
// default depth and the caller's walk in this thread's memo, with a record of its stack. That
// record + 1 (the memo's kept word), or 0: then the capture and the record the slow way.
// kTrusted: f was taken from this call's own stack pointer (stack_capture.h's recall_default).
template <bool kTrusted = false>
[[gnu::always_inline]] inline uint64_t walk_record(caller::Frame f, stack::memo::Memo** way = nullptr) {
  if (__builtin_expect(g_depth != stack::memo::kSteps + 1 || stack::t_busy, 0)) return 0;
  stack::memo::Memo* m = stack::recall_default<kTrusted>(reinterpret_cast<uintptr_t>(f.ret), f.cfa, f.rbp);
  if (__builtin_expect(m == nullptr, 0)) return 0;
  if (way) *way = m;
  return m->kept;
}
// note_side()'s common case: true when the block is noted. Nothing is counted here: the pool and
// watson2 count their allocations already, and the statistics take those
// (MallocLogLayer::statistics).
template <bool kTrusted>
[[gnu::always_inline]] inline bool note_side_quick(side::Entry* e, size_t size, caller::Frame f) {
  uint64_t kept = walk_record<kTrusted>(f);
  if (__builtin_expect(kept == 0, 0)) return false;
  e->store(side::value(static_cast<uint32_t>(kept - 1), size), std::memory_order_relaxed);
  return true;
}
template <bool kFrameNoted = true>
[[gnu::always_inline]] inline void note_side(side::Entry* e, size_t size, caller::Frame f) {
  if (__builtin_expect(note_side_quick<!kFrameNoted>(e, size, f), 1)) return;
  if constexpr (!kFrameNoted) caller::t_frame = f;
  note_side_slow(e, size);
}
// forget() of a block whose side entry is e; without a value there (the block was noted while
// the array could not cover it, or not at all), the table's.
[[gnu::always_inline]] inline Taken forget_side(side::Entry* e, void* p) {
  uint64_t had = e->load(std::memory_order_relaxed);
  if (__builtin_expect(had == 0, 0)) return forget(p);
  e->store(0, std::memory_order_relaxed);
  return Taken{had, kNoRecord, true};
}
// The same on free, which needs nothing back: while no block that has an entry was ever put in
// the table (side::g_spilled), the entry is cleared without being read first.
[[gnu::always_inline]] inline void forget_side_on_free(side::Entry* e, void* p) {
  if (__builtin_expect(!side::g_spilled.load(std::memory_order_relaxed), 1))
    return e->store(0, std::memory_order_relaxed);
  forget_side(e, p);
}
// The records' counts made current for the blocks noted with a record of their stack and their
// size (the side arrays' and the table's, malloc_log_side.h and malloc_log_table.h): before
// anything reads a count. Takes the log's count lock, then each stripe's; never allocates.
void refresh_counts();
// reset_malloc_log(): every block of heap `heap` (-1: all) forgotten, the counts to 0.
void reset_counts(int heap);

LiveTable& live();
unsigned depth();
bool extended();
// The log's figures; `side_allocations`: the pool's and watson2's allocations since start, which
// are the allocations the side arrays took (blocks noted in the table count there).
void totals(MallocLogFigures* out, uint64_t side_allocations);

void lock_all();
void unlock_all();
void reset_in_child();
void set_aside_in_child();

template <class Next>
class MallocLogLayer : public Next {
 public:
  void configure(const Config& c) {
    Next::configure(c);
    if (c.enabled(OptionId::kLog) || c.enabled(OptionId::kReportAllocations) ||
        c.enabled(OptionId::kRecordAllocations) || c.enabled(OptionId::kExtended))
      g_on = start(c);
    // Asked only with the log on: under watson2 the question builds the policy's heaps, which a
    // process may otherwise never need (libmalloc/policy_switch.h).
    many_heaps_ = g_on && Next::heap_count() > 1;
    if (g_on) pool::set_fast(pool::kFastOff);
  }

  void set_default_alignment(size_t align) {
    Next::set_default_alignment(align);
    if (g_on) pool::set_fast(pool::kFastOff);
  }

  bool debug_active() const { return g_on || Next::debug_active(); }
  // On with no MALLOCDEBUG layer below it: the runtime may then serve malloc and free on the
  // plain stack's path and call note() and forget_block() itself (libmalloc/requests.cpp).
  bool log_alone() const { return g_on && !Next::debug_active(); }
  void note(void* p, size_t size) {
    if (__builtin_expect(g_on, 1)) note_allocation(p, size, heap_of(p));
  }
  // A block of the pool or of watson2, which no heap owns.
  void note_unowned(void* p, size_t size) {
    if (__builtin_expect(g_on, 1)) note_allocation(p, size, 0);
  }
  void forget_block(void* p) {
    if (__builtin_expect(g_on, 1)) forget(p);
  }

  void* allocate(size_t size, size_t align) {
    void* p = Next::allocate(size, align);
    if (__builtin_expect(g_on, 0) && p != nullptr) note_allocation(p, size, heap_of(p));
    return p;
  }

  void release(void* p, Owner o, const char* call) {
    if (__builtin_expect(g_on, 0)) forget(p);
    Next::release(p, o, call);
  }

  // In place or moved by the layers below: the block is logged again at its new size, with the
  // stack of the realloc. nullptr (the runtime moves it) or a dropped call: it stays as it was.
  void* reallocate(void* p, Owner o, size_t size) {
    if (__builtin_expect(!g_on, 1)) return Next::reallocate(p, o, size);
    Extended ext{};
    Taken had = forget(p, &ext);
    void* q = Next::reallocate(p, o, size);
    if (q == nullptr || q == debug::kDropped) {
      if (had.any()) restore(p, had, ext);
      return q;
    }
    note_allocation(q, size, heap_of(q));
    return q;
  }

  void statistics(Statistics& f) {
    Next::statistics(f);
    if (!g_on) return;
    uint64_t side_allocations = 0;
    if (side::g_on) {
      for (unsigned c = 0; c < f.pool_classes; ++c) side_allocations += f.pool_class[c].allocations;
      if (f.has_watson2) side_allocations += f.watson2.allocations;
    }
    totals(&f.malloc_log, side_allocations);
    f.has_malloc_log = 1;
  }

  // The tables' locks before every lock below, released after them.
  void fork_prepare() {
    if (g_on) lock_all();
    Next::fork_prepare();
  }
  void fork_parent() {
    Next::fork_parent();
    if (g_on) unlock_all();
  }
  void fork_child() {
    Next::fork_child();
    if (g_on) reset_in_child();
  }
  void fork_child_set_aside() {
    Next::fork_child_set_aside();
    if (g_on) set_aside_in_child();
  }

 private:
  // The heap a block came from: a heap's number; 0 for the blocks no heap owns (pool, large and
  // guarded blocks), as for every block without multiheap.
  unsigned heap_of(void* p) {
    if (!many_heaps_ || pool::owns(p)) return 0;
    Owner o = address_map().lookup(p);
    return o.kind() == OwnerKind::kHeap ? Next::heap_index(o) : 0;
  }
  // With multiheap; without it every block is heap 0's. (False, as every member of the stack
  // starts, so that the stack stays in .bss instead of the library file's data.)
  bool many_heaps_ = false;
};

}  // namespace aixmalloc::mlog
