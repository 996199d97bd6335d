// MALLOCDEBUG=trace: every malloc, calloc, realloc, free and memalign-family call as one record on
// the debug output stream (AIX sends them to its system trace facility; Linux has none, so the
// records go where the other MALLOCDEBUG messages go). The outermost layer of the stack.
//
//   trace PID TID SEQ malloc(SIZE) = PTR          calloc(COUNT, SIZE) = PTR
//   trace PID TID SEQ realloc(PTR, SIZE) = PTR    memalign(ALIGN, SIZE) = PTR
//   trace PID TID SEQ free(PTR)                   (a failed call returns 0x0)
//
// One write(2) per record, from a buffer on the stack: records of several threads never share a
// line, and nothing allocates. SEQ numbers the records of the process, 1, 2, 3..., in the order
// of the calls (see fork_lock below). The layer sees plain allocations and releases; a call the runtime builds from several
// (calloc is an allocation then a clear, a realloc that moves is an allocation, a copy and a
// release, memalign is an allocation with an alignment) is recorded once, by the runtime, through
// Call below: while it runs, the layer records nothing of its parts on that thread.
#pragma once

#include <cstddef>
#include <cstdint>

#include "libmalloc/base/config.h"
#include "libmalloc/base/lock.h"
#include "options/pool.h"

namespace aixmalloc::trace {

enum class Op : uint8_t { kMalloc, kCalloc, kRealloc, kFree, kMemalign };

// One lock orders every traced call: the call and its record happen under it, so the records'
// order (SEQ, and the order of the lines) is the order in which blocks changed hands, even when a
// realloc moves a block inside a heap or another thread is given an address just freed. Taken
// before every lock below it, at fork too (LockedAtFork); tracing is a debugging mode, and the
// write(2) of each record serializes the calls anyway.
Lock& fork_lock();
void set_aside_in_child();

// Writes one record; the caller holds fork_lock(). `a`, `b`: the call's arguments in the order
// above (malloc_trace.cpp).
void record(Op op, uintptr_t a, uintptr_t b, const void* result);
// The same for a call that reaches no layer (free(NULL), a size no heap can serve): takes the lock.
void record_alone(Op op, uintptr_t a, uintptr_t b, const void* result);

// On when MALLOCDEBUG=trace; read on the runtime's calloc, realloc and memalign paths.
inline bool g_on = false;
// The composite call this thread is inside, if any: its parts are not recorded.
inline thread_local bool t_in_call = false;

// The runtime wraps calloc, realloc and memalign in one of these when g_on:
//   trace::Call c(Op::kRealloc, p, size); return c.done(reallocate_block(p, size));
class Call {
 public:
  Call(Op op, uintptr_t a, uintptr_t b) : op_(op), a_(a), b_(b), outer_(!t_in_call) {
    if (!outer_) return;
    fork_lock().lock();
    t_in_call = true;
  }
  ~Call() {
    if (!outer_) return;
    t_in_call = false;
    fork_lock().unlock();
  }
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;
  void* done(void* result) {
    if (outer_) record(op_, a_, b_, result);  // realloc(NULL, n): one realloc, no malloc
    return result;
  }

 private:
  Op op_;
  uintptr_t a_, b_;
  bool outer_;
};

template <class Next>
class MallocTraceLayer : public LockedAtFork<Next, fork_lock, set_aside_in_child> {
  using Base = LockedAtFork<Next, fork_lock, set_aside_in_child>;

 public:
  void configure(const Config& c) {
    Base::configure(c);
    on_ = g_on = c.enabled(OptionId::kTrace);
    // Every malloc and free must reach this layer: the pool's inline fast path goes off.
    if (on_) pool::set_fast(pool::kFastOff);
  }

  void set_default_alignment(size_t align) {
    Base::set_default_alignment(align);
    if (on_) pool::set_fast(pool::kFastOff);
  }

  bool debug_active() const { return on_ || Base::debug_active(); }
  bool log_alone() const { return !on_ && Base::log_alone(); }

  void* allocate(size_t size, size_t align) {
    if (__builtin_expect(!on_, 1) || t_in_call) return Base::allocate(size, align);
    LockGuard hold(fork_lock());
    void* p = Base::allocate(size, align);
    record(Op::kMalloc, size, 0, p);
    return p;
  }

  void release(void* p, Owner o, const char* call) {
    if (__builtin_expect(!on_, 1) || t_in_call) return Base::release(p, o, call);
    LockGuard hold(fork_lock());
    record(Op::kFree, reinterpret_cast<uintptr_t>(p), 0, nullptr);
    Base::release(p, o, call);
  }

 private:
  bool on_ = false;
};

}  // namespace aixmalloc::trace
