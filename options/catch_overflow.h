// MALLOCDEBUG=catch_overflow (and MALLOCTYPE=debug): the first layer of the stack when it is on.
// The blocks it chooses (every block, or those of debug_range sizes, of functionset callers, or one
// in `sample` n) go to the guard arena (guard_arena.h), which places each so that its end meets an
// inaccessible page; every other request, and every block the arena cannot guard, passes to the
// layers below as usual. A free of a guarded block is checked against the arena's records, so a
// double free or a pointer into a block is reported, never followed. When the layer is off it
// costs one predictable branch per call.
#pragma once

#include <cstddef>
#include <cstring>

#include "libmalloc/base/address_map.h"
#include "libmalloc/base/config.h"
#include "libmalloc/base/debug_output.h"
#include "libmalloc/base/lock.h"
#include "libmalloc/base/platform.h"
#include "options/guard_arena.h"
#include "options/guard_fault.h"
#include "options/pool.h"

namespace aixmalloc {

namespace guard {
// Which requests are guarded, from the configuration (catch_overflow.cpp).
struct Choice {
  bool every = true;  // no range, no functionset, no sampling
  uint64_t min = 0, max = UINT64_MAX;
  uint64_t sample = 0;  // guard one in `sample`; 0: every block in range
  bool functions = false;
};
// Sets the choice and the arena up; false when catch_overflow cannot run (one line said why).
bool start(const Config& c, Choice* out);
// functionset: true when the current request comes from one of the named functions.
bool caller_chosen();
// sample: requests left on this thread before the next one guarded (GNU __thread: one %fs load).
extern __thread uint64_t t_countdown;
// The countdown reached 0: true for this request, and a new countdown drawn.
bool sample_hit(uint64_t n);
// The pool's inline malloc in the sampled mode (pool::kFastSampled): true, counting this request,
// while the countdown has more than one to go; false sends the request down the stack, where
// sampled() counts it and guards it when the countdown runs out.
inline bool count_down_inline() {
  if (t_countdown <= 1) return false;
  --t_countdown;
  return true;
}
inline bool sampled(uint64_t n) { return __builtin_expect(--t_countdown != 0 && t_countdown < n * 2, 1) ? false : sample_hit(n); }
}  // namespace guard

template <class Next>
class CatchOverflowLayer : public LockedAtFork<Next, guard::fork_lock, guard::set_aside_in_child> {
 public:
  void configure(const Config& c) {
    Next::configure(c);
    on_ = c.enabled(OptionId::kCatchOverflow) && guard::start(c, &choice_);
    fill_ = c.enabled(OptionId::kFill) ? static_cast<int>(c.value(OptionId::kFill)) : -1;
    fast_path();
  }

  void* allocate(size_t size, size_t align) {
    if (__builtin_expect(on_, 0) && chosen(size)) {
      if (void* p = guard::allocate(size, align)) {
        if (fill_ >= 0) memset(p, fill_, size);  // MALLOCDEBUG=fill, as Malloc Detect fills the others
        return p;
      }
    }
    return Next::allocate(size, align);
  }

  void release(void* p, Owner o, const char* call) {
    if (o.kind() != OwnerKind::kGuarded) return Next::release(p, o, call);
    if (valid(p, call)) guard::release(p);
  }

  size_t usable_size(void* p, Owner o, const char* call) {
    if (o.kind() != OwnerKind::kGuarded) return Next::usable_size(p, o, call);
    return valid(p, call) ? guard::usable_size(p) : 0;
  }

  // A guarded block's end must stay at its guard page: a new size always moves it (nullptr: the
  // runtime allocates, copies and frees), except the same size. A bad pointer, once reported,
  // is left alone under MALLOCDEBUG=continue: realloc returns NULL with EINVAL (debug::kDropped).
  void* reallocate(void* p, Owner o, size_t size) {
    if (o.kind() != OwnerKind::kGuarded) return Next::reallocate(p, o, size);
    if (!valid(p, "realloc")) return debug::kDropped;
    return size == guard::requested_size(p) ? p : nullptr;
  }

  void clear(void* p, size_t size) {
    if (address_map().lookup(p).kind() == OwnerKind::kGuarded) {
      memset(p, 0, size);
      return;
    }
    Next::clear(p, size);
  }

  void set_default_alignment(size_t align) {
    Next::set_default_alignment(align);
    fast_path();
  }

  bool any_allocation() { return guard::any_allocation() || Next::any_allocation(); }
  bool debug_active() const { return on_ || Next::debug_active(); }

  void statistics(Statistics& f) {
    Next::statistics(f);
    if (!on_) return;
    guard::totals(&f.guard);
    f.has_guard = 1;
  }

 private:
  // Every request must come here, except in the sampled mode alone: there the pool's inline
  // malloc keeps running and counts the sample down (pool::kFastSampled).
  void fast_path() {
    if (!on_ || pool::g_fast.load(std::memory_order_relaxed) == pool::kFastOff) return;
    bool sample_only = choice_.sample != 0 && !choice_.functions && choice_.min == 0 && choice_.max == UINT64_MAX;
    pool::set_fast(sample_only ? pool::kFastSampled : pool::kFastOff);
  }

  bool chosen(size_t size) const {
    if (choice_.every) return true;
    if (size < choice_.min || size > choice_.max) return false;
    if (choice_.functions && !guard::caller_chosen()) return false;
    return choice_.sample == 0 || guard::sampled(choice_.sample);
  }

  // A pointer into the arena that is not a live block's start is reported (and, under
  // MALLOCDEBUG=continue, the call does nothing).
  static bool valid(void* p, const char* call) {
    guard::BlockInfo b;
    guard::Verdict v = guard::check(p, &b);
    if (v == guard::Verdict::kLive) return true;
    guard::report_bad_free(call, p, v, b);
    return false;
  }

  // Zero until configure() sets them (fill_: MALLOCDEBUG=fill's byte, or -1): see stack.h.
  bool on_ = false;
  int fill_ = 0;
  guard::Choice choice_{false, 0, 0, 0, false};
};

}  // namespace aixmalloc
