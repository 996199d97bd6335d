// MALLOCDEBUG=trace's records (options/malloc_trace.h): formatted on the stack and written whole
// to the debug output stream, so that a record never allocates and never shares a line.
#include "options/malloc_trace.h"

#include "libmalloc/base/debug_output.h"
#include "libmalloc/base/format.h"
#include "libmalloc/base/os.h"

namespace aixmalloc::trace {

namespace {

AIXMALLOC_FORK_LOCK Lock g_lock;
uint64_t g_sequence = 0;  // under g_lock

const char* const kNames[] = {"malloc", "calloc", "realloc", "free", "memalign"};

}  // namespace

Lock& fork_lock() { return g_lock; }

// A child forked while another thread traced a call: that call never finishes there.
void set_aside_in_child() { g_lock.reset_in_child(); }

void record(Op op, uintptr_t a, uintptr_t b, const void* result) {
  TextBuf<160> t;
  t.str("trace ").num(static_cast<uint64_t>(os::process_id())).ch(' ');
  t.num(static_cast<uint64_t>(os::thread_id())).ch(' ');
  t.num(++g_sequence).ch(' ');
  t.str(kNames[static_cast<unsigned>(op)]).ch('(');
  switch (op) {
    case Op::kMalloc:
      t.num(a);
      break;
    case Op::kFree:
      t.hex(a);
      break;
    case Op::kRealloc:
      t.hex(a).str(", ").num(b);
      break;
    case Op::kCalloc:
    case Op::kMemalign:
      t.num(a).str(", ").num(b);
      break;
  }
  t.ch(')');
  if (op != Op::kFree) t.str(" = ").ptr(result);
  t.ch('\n');
  debug::emit(t);
}

}  // namespace aixmalloc::trace

namespace aixmalloc::trace {

void record_alone(Op op, uintptr_t a, uintptr_t b, const void* result) {
  LockGuard hold(g_lock);
  record(op, a, b, result);
}

}  // namespace aixmalloc::trace
