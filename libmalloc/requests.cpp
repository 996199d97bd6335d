// The semantics of the malloc family over the configured stack: errno, overflow checks, glibc's
// corner cases (realloc(p, 0), calloc's zeroing), requests that arrive during start-up (served
// from the bootstrap area), and the general realloc that moves a block the stack could not resize
// in place. Which layer serves a request is the stack's business (stack.h).
#include <errno.h>

#include <cstring>

#include "libmalloc/assembly.h"
#include "libmalloc/base/address_map.h"
#include "libmalloc/base/bootstrap.h"
#include "libmalloc/base/debug_output.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/fresh.h"
#include "libmalloc/log_side.h"
#include "libmalloc/probes.h"
#include "libmalloc/replacement.h"
#include "options/malloc_trace.h"

namespace aixmalloc::rt {
namespace {

void* fail_nomem() {
  errno = ENOMEM;
  return nullptr;
}

// A request no heap can serve: it never reaches the stack, so MALLOCDEBUG=trace records it here.
[[gnu::cold]] void* refuse_request(size_t size) {
  if (trace::g_on && !trace::t_in_call) trace::record_alone(trace::Op::kMalloc, size, 0, nullptr);
  return fail_nomem();
}

// The stack's layers are small inline templates: flattened here (and in release), the path of a
// request is one function, as fast as a hand-written one. Each is made twice, for the whole stack
// and for its part below the MALLOCDEBUG layers (stack.h), and g_debug_layers chooses.
template <class S>
[[gnu::flatten]] void* allocate_on(S& stack, size_t size, size_t align) {
  void* p = stack.allocate(size, align);
  return p ? p : fail_nomem();
}

// The whole stack's paths are functions of their own, never inlined into the plain path's: there
// they would double its functions' size and spread the pages every process runs over twice the
// text (a process without MALLOCDEBUG runs the plain path only). malloc and free choose between
// the two before any frame is set up (aixmalloc_allocate_off_fast, release), each path then runs
// as one flattened function.
[[gnu::noinline, gnu::flatten]] void* allocate_debug_layers(size_t size, size_t align) {
  return allocate_on(g_stack, size, align);
}

// kWhole: the caller is the whole stack's own path (allocate_debug), which has it inline.
template <bool kWhole = false>
void* allocate_ready(size_t size, size_t align) {
  if (size > kMaxRequest) return refuse_request(size);
  if constexpr (kWhole) return allocate_on(g_stack, size, align);
  if (__builtin_expect(g_debug_layers, 0)) return allocate_debug_layers(size, align);
  return allocate_on(static_cast<PlainStack&>(g_stack), size, align);
}

// A block's owner in the address map, for realloc and malloc_usable_size. The areas of watson2
// and of the pool are not in the map: their blocks skip the lookup, which would read the map's top
// table for nothing (at a process's first realloc, a page fault). Not in free's path, where their
// blocks go inline and the two tests would cost every other block of the default configuration.
inline Owner owner_of(const void* p) {
  if (watson2::owns(p) || pool::owns(p)) return Owner{};
  return address_map().lookup(p);
}

template <class S>
[[gnu::flatten]] void release_on(S& stack, void* p, const char* call) {
  Owner o = address_map().lookup(p);
  if (o.kind() == OwnerKind::kBootstrap) return;  // never reused
  stack.release(p, o, call);
}

template <bool kWhole = false>
void* allocate_any(size_t size, size_t align) {
  if (__builtin_expect(!ready(), 0) && !ensure_started()) {
    if (__builtin_expect(replacement::g_loading, 0)) replacement::note_loading_request();
    void* p = bootstrap::allocate(size, align);
    return p ? p : fail_nomem();
  }
  if (align < g_default_align) align = g_default_align;
  return allocate_ready<kWhole>(size, align);
}

// MALLOCTYPE=user: (replacement.h). It is on only with the debug layers' path (runtime.cpp), so
// the test costs a process without it nothing on malloc and free, and one predictable branch on
// the other calls. A call the replacement itself made goes to the default policy.
inline bool replaced() {
  return __builtin_expect(g_debug_layers, 0) && replacement::g_on && !replacement::reentered();
}

// free under a replacement: what the address map does not know is the replacement's; blocks of
// the default policy (served before it was loaded, or aligned ones) go back to it.
void release_replaced(void* p, const char* call) {
  Owner o = address_map().lookup(p);
  if (o.kind() == OwnerKind::kBootstrap) return;
  if (o.kind() != OwnerKind::kNone) return g_stack.release(p, o, call);
  if (!replacement::reentered()) replacement::release(p);
}

// realloc under a replacement, of a block it did not serve: moved to one it serves.
void* move_to_replacement(void* p, Owner o, size_t size) {
  bool from_bootstrap = o.kind() == OwnerKind::kBootstrap;
  size_t old = from_bootstrap ? bootstrap::usable_size(p) : g_stack.usable_size(p, o, "realloc");
  void* q = replacement::allocate(size);
  if (q == nullptr) return nullptr;
  memcpy(q, p, old < size ? old : size);
  if (!from_bootstrap) g_stack.release(p, o, "realloc");
  return q;
}

size_t usable_size_of(void* p, Owner o, const char* call) {
  if (o.kind() == OwnerKind::kBootstrap) return bootstrap::usable_size(p);
  if (o.kind() == OwnerKind::kNone && replacement::g_on) return 0;  // the replacement's: no size known
  return g_stack.usable_size(p, o, call);
}

// Moves a block to a fresh allocation: the general realloc, when resizing in place cannot work.
void* move_block(void* p, Owner o, size_t size) {
  size_t old = usable_size_of(p, o, "realloc");
  void* q = allocate_ready(size, kAlignment);
  if (q == nullptr) return nullptr;
  memcpy(q, p, old < size ? old : size);
  release_inline(p, "realloc");  // as free() does: not through the address map
  return q;
}

// The calls as the program makes them; under MALLOCDEBUG=trace, the functions below record each
// one once (options/malloc_trace.h), whatever the stack does for it.
void* allocate_aligned_block(size_t align, size_t size) {
  if (align > (kMaxRequest >> 1)) return fail_nomem();
  return allocate_any(size, align < kAlignment ? kAlignment : align);
}

void* allocate_zeroed_block(size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) return fail_nomem();
  if (total == 0 && g_config.zero_size_null) return nullptr;  // AIX: no zero-size objects
  fresh::forget();  // a note is for the block this call allocates, none earlier
  void* p = allocate_any(total, kAlignment);
  if (p == nullptr || !ready()) return p;  // the bootstrap area is never reused: zero already
  g_stack.clear(p, total);
  return p;
}

void* reallocate_block(void* p, size_t size) {
  if (replaced()) {  // the replacement's blocks (and NULL) are its own business
    Owner o = address_map().lookup(p);
    if (o.kind() == OwnerKind::kNone) return replacement::reallocate(p, size);
    if (size != 0) return move_to_replacement(p, o, size);
  }
  if (p == nullptr) {
    if (size == 0 && g_config.zero_size_null) return nullptr;  // AIX: no zero-size objects
    return allocate_any(size, kAlignment);
  }
  if (size == 0) {  // glibc: realloc(p, 0) frees p and returns NULL
    release_inline(p, "realloc");  // as free() does: not through the address map
    return nullptr;
  }
  if (size > kMaxRequest) return fail_nomem();
  Owner o = owner_of(p);
  if (o.kind() != OwnerKind::kBootstrap) {
    if (void* q = g_stack.reallocate(p, o, size)) {
      if (__builtin_expect(q == debug::kDropped, 0)) {  // a bad pointer, reported (MALLOCDEBUG)
        errno = EINVAL;
        return nullptr;
      }
      return q;
    }
  }
  void* q = move_block(p, o, size);
  return q ? q : fail_nomem();
}

}  // namespace

// malloc through the whole stack (the debug path, and the entry points that are not inline).
// Not called by the other calls: their probes are their own.
void* allocate(size_t size) {
  if (replaced()) return replacement::allocate(size);
  void* p = size == 0 && g_config.zero_size_null ? nullptr  // AIX: no zero-size objects
                                                 : allocate_any(size, kAlignment);
  AIXMALLOC_PROBE2(malloc, size, p);
  return p;
}

bool zero_size_null() { return g_config.zero_size_null; }

bool replacement_info(struct ::mallinfo* out) {
  ensure_started();
  if (!replacement::g_on) return false;
  replacement::info(out);
  return true;
}

namespace {
// What the pool's and watson2's slow paths could not serve (their area is full or out of use), by
// the layers below them. Rare: apart from their own functions, so that the misses' paths, which
// every program runs, stay a few hundred bytes of code (the whole stack inlined is some 17 KiB, a
// quarter of the kernel's 64 KiB window of fault-around) and keep to the pages the program has
// resident anyway.
[[gnu::noinline, gnu::cold, gnu::flatten]] void* allocate_below_pool(size_t size) {
  return g_stack.below().allocate(size, kAlignment);
}
[[gnu::noinline, gnu::cold, gnu::flatten]] void* allocate_below_watson2(size_t size) {
  return static_cast<PlainStack&>(g_stack).watson2_next().allocate(size, kAlignment);
}
}  // namespace

// The pool is on (so the runtime is ready, and the default alignment is 16 bytes) and this
// thread's list of the class is empty.
void* allocate_pool_miss(size_t size) {
  void* p = pool::allocate_slow(size);
  if (p == nullptr) p = allocate_below_pool(size);
  if (p == nullptr) p = fail_nomem();
  AIXMALLOC_PROBE2(malloc, size, p);
  return p;
}

// MALLOCTYPE=watson2 (so the runtime is ready, the default alignment is 16 bytes and no MALLOCDEBUG
// layer is on) and this thread's list of the class is empty.
void* allocate_watson2_miss(size_t size) {
  void* p = watson2::allocate_slow(size);
  if (p == nullptr) p = allocate_below_watson2(size);
  if (p == nullptr) p = fail_nomem();
  AIXMALLOC_PROBE2(malloc, size, p);
  return p;
}

// A MALLOCDEBUG layer is on: catch_overflow's sampled mode keeps the pool's path while it counts
// its sample down. The caller is noted already (allocate_off_fast's thunk, or the operator's).
// AIXMALLOC_ZERO_SIZE=null and MALLOCTYPE=user: send every malloc here too (runtime.cpp). The rest
// is allocate(size) on the whole stack.
[[gnu::noinline, gnu::flatten]] void* allocate_debug(size_t size) {
  if (replacement::g_on && !replacement::reentered()) return replacement::allocate(size);
  if (size == 0 && g_config.zero_size_null) return nullptr;
  if (pool::g_fast.load(std::memory_order_acquire) == pool::kFastSampled && size <= pool::kMaxRequest &&
      guard::count_down_inline()) {
    void* p = pool::allocate(size);
    if (p == nullptr) p = g_stack.below().allocate(size, kAlignment);
    if (p == nullptr) p = fail_nomem();
    AIXMALLOC_PROBE2(malloc, size, p);
    return p;
  }
  void* p = allocate_any<true>(size, kAlignment);
  AIXMALLOC_PROBE2(malloc, size, p);
  return p;
}

// MALLOCDEBUG=log alone (g_log_alone): the plain stack serves the request, as without the log,
// and the log notes the block, as its layer would on the whole stack's path. A block from
// watson2's or the pool's list comes first, as the plain stack's first layers would take it,
// without the frame of the whole plain path.
[[gnu::noinline, gnu::flatten]] void* allocate_logged_plain(size_t size, size_t align) {
  void* p = allocate_on(static_cast<PlainStack&>(g_stack), size, align);
  if (p != nullptr) g_stack.note(p, size);
  return p;
}

// A block of watson2's or the pool's lists: its record goes to its side array (log_side.h) while
// the array is on, else to the table. `f`: the program's frame, as caller::frame() holds it or,
// with kFrameNoted false, as allocate_off_fast_tail passed it in registers (then stored there
// before any path that reads it from caller::frame()).
template <bool kFrameNoted>
[[gnu::always_inline]] inline void* allocate_logged_from(size_t size, caller::Frame f) {
  auto noted = [&] {
    if constexpr (!kFrameNoted) caller::t_frame = f;
  };
  if (__builtin_expect(!ready(), 0)) return noted(), allocate_debug(size);
  if (size > kMaxRequest) return refuse_request(size);
  size_t align = g_default_align > kAlignment ? g_default_align : kAlignment;
  PlainStack& plain = g_stack;
  void* p = nullptr;
  mlog::side::Entry* e = nullptr;
  if (plain.watson2_serves(size, align)) {
    p = watson2::pop(size);
    if (p != nullptr && mlog::side::g_on) e = watson2_log_entry(p, false);
  } else if (plain.watson2_next().pool_serves(size, align)) {
    p = pool::pop(size);
    if (p != nullptr && mlog::side::g_on) e = pool_log_entry(p, false);
  }
  if (e != nullptr) {
    mlog::note_side<kFrameNoted>(e, size, f);
  } else {
    noted();
    if (p != nullptr)
      g_stack.note_unowned(p, size);
    else
      p = allocate_logged_plain(size, align);
  }
  AIXMALLOC_PROBE2(malloc, size, p);
  return p;
}

[[gnu::noinline]] void* allocate_logged(size_t size) {
  return allocate_logged_from<true>(size, caller::frame());
}

mlog::side::Entry* log_entry_of(const void* p) {
  if (watson2::owns(p)) return watson2_log_entry(p, true);
  if (pool::owns(p)) return pool_log_entry(p, true);
  return nullptr;
}

namespace {
[[gnu::noinline, gnu::flatten]] void* allocate_plain(size_t size) {
  void* p = allocate_any(size, kAlignment);
  AIXMALLOC_PROBE2(malloc, size, p);
  return p;
}
}  // namespace

}  // namespace aixmalloc::rt

// malloc and the C++ operators, when the inline path does not take the request: a jump to the
// plain path or the debug layers' (allocate_debug_layers says why).
extern "C" void* aixmalloc_allocate_off_fast(size_t size, const void*) {
  using namespace aixmalloc::rt;
  if (__builtin_expect(g_debug_layers, 0))
    return g_log_alone ? allocate_logged(size) : allocate_debug(size);
  return allocate_plain(size);
}

namespace aixmalloc::rt {

__attribute__((naked)) void* allocate_off_fast(size_t, const void*) {
  AIXMALLOC_NOTING_TAIL_THUNK(aixmalloc_allocate_off_fast);
}

}  // namespace aixmalloc::rt

// malloc under the Malloc Log alone (g_log_alone), from the thunk below: the program's frame in
// registers, noted in caller::frame() only if a path needs it there.
extern "C" [[gnu::visibility("hidden"), gnu::flatten]] void* aixmalloc_allocate_logged(size_t size, const void* ret,
                                                                                   uintptr_t cfa, uintptr_t rbp) {
  using namespace aixmalloc::rt;
  return allocate_logged_from<false>(size, aixmalloc::caller::Frame{ret, cfa, rbp});
}

namespace aixmalloc::rt {

// malloc's jump for every request its inline paths do not take (under the log, all of them):
// malloc's frame is untouched, so (%rsp) is the program's return address. Under the log alone,
// the frame goes on in registers (return address, stack pointer after the return, rbp).
__attribute__((naked)) void* allocate_off_fast_tail(size_t) {
  asm("movq (%rsp), %rsi\n\t"
      "cmpb $0, aixmalloc_log_alone(%rip)\n\t"
      "je 1f\n\t"
      "leaq 8(%rsp), %rdx\n\t"
      "movq %rbp, %rcx\n\t"
      "jmp aixmalloc_allocate_logged\n"
      "1:");
  AIXMALLOC_NOTING_TAIL_THUNK(aixmalloc_allocate_off_fast);
}

// Runs one call of the program's; under MALLOCDEBUG=trace, as one record (options/malloc_trace.h),
// whatever the stack does for it.
template <class Fn>
void* traced(trace::Op op, uintptr_t a, size_t b, Fn fn) {
  if (__builtin_expect(trace::g_on, 0)) {
    trace::Call c(op, a, b);
    return c.done(fn());
  }
  return fn();
}

// memalign, posix_memalign, aligned_alloc, valloc, pvalloc and the aligned C++ operators. Each of
// these three fires its USDT probe (probes.h) with the call's arguments and result.
void* allocate_aligned(size_t align, size_t size) {
  if (replaced() && replacement::has_aligned()) return replacement::allocate_aligned(align, size);
  void* q = traced(trace::Op::kMemalign, align, size, [&] { return allocate_aligned_block(align, size); });
  AIXMALLOC_PROBE3(memalign, align, size, q);
  return q;
}

void* allocate_zeroed(size_t count, size_t size) {
  if (replaced()) return replacement::allocate_zeroed(count, size);
  void* q = traced(trace::Op::kCalloc, count, size, [&] { return allocate_zeroed_block(count, size); });
  AIXMALLOC_PROBE3(calloc, count, size, q);
  return q;
}

// realloc and reallocarray.
void* reallocate(void* p, size_t size) {
  void* q = traced(trace::Op::kRealloc, reinterpret_cast<uintptr_t>(p), size,
                   [&] { return reallocate_block(p, size); });
  AIXMALLOC_PROBE3(realloc, p, size, q);
  return q;
}

namespace {

[[gnu::noinline]] void release_plain(void* p, const char* call) {
  if (p == nullptr) return;
  release_on(static_cast<PlainStack&>(g_stack), p, call);
}

[[gnu::noinline]] void release_debug(void* p, const char* call) {
  if (p == nullptr) {
    if (__builtin_expect(trace::g_on, 0) && !trace::t_in_call) trace::record_alone(trace::Op::kFree, 0, 0, nullptr);
    return;
  }
  if (replacement::g_on) return release_replaced(p, call);
  release_on(g_stack, p, call);
}

// MALLOCDEBUG=log alone: the block leaves the log, then the plain stack frees it (a block of
// watson2 or the pool as its first layers would, without the address map).
[[gnu::noinline, gnu::flatten]] void release_logged_plain(void* p, const char* call) {
  Owner o = address_map().lookup(p);
  if (o.kind() == OwnerKind::kBootstrap) return;  // never reused, never logged
  g_stack.forget_block(p);
  static_cast<PlainStack&>(g_stack).release(p, o, call);
}

// With the side arrays on, a block's entry, cleared once the allocator's release has found p to
// be a block's start (a pointer that is not one it reports, as without the log); without an
// entry (the side arrays off, or no array for its page), the table. Inline in free's path.
[[gnu::always_inline]] inline void release_logged(void* p, const char* call) {
  if (p == nullptr) return;
  PlainStack& plain = g_stack;
  if (plain.watson2_holds(p)) {
    return watson2::release_with(p, call, [&](const watson2::Page*, uint64_t x) {
      mlog::side::Entry* e = mlog::side::g_on ? watson2_log_entry_at(p, x) : nullptr;
      if (e != nullptr)
        mlog::forget_side_on_free(e, p);
      else
        g_stack.forget_block(p);
    });
  }
  if (pool::owns(p)) {
    return pool::release_with(p, call, [&](const pool::PoolPage* page, uint64_t x) {
      mlog::side::Entry* e = mlog::side::g_on ? pool_log_entry_at(page, x) : nullptr;
      if (e != nullptr)
        mlog::forget_side_on_free(e, p);
      else
        g_stack.forget_block(p);
    });
  }
  release_logged_plain(p, call);
}

}  // namespace

// g_log_alone may be cleared after the path was chosen (MALLOCTYPE=user's loading): then release().
void release_logged_entry(void* p) {
  AIXMALLOC_PROBE1(free, p);
  if (__builtin_expect(g_log_alone, 1)) return release_logged(p, "free");
  release(p, "free");
}

// A jump to the plain path or the debug layers' (allocate_debug_layers says why). free(NULL) is
// recorded by MALLOCDEBUG=trace, one of those layers.
void release(void* p, const char* call) {
  if (__builtin_expect(g_debug_layers, 0))
    return g_log_alone ? release_logged(p, call) : release_debug(p, call);
  release_plain(p, call);
}

int set_signal_action(int sig, const struct sigaction* act, struct sigaction* old) {
  ensure_started();  // the configuration says whether catch_overflow's handler is in place
  if (live_channel_watches(sig)) return live_channel_sigaction(sig, act, old);
  return guard::program_sigaction(sig, act, old);
}

size_t usable_size(void* p) {
  if (p == nullptr) return 0;
  return usable_size_of(p, owner_of(p), "malloc_usable_size");
}

}  // namespace aixmalloc::rt
