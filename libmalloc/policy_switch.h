// The one switch from the configured MALLOCTYPE to the heaps of its policy: the layer under the
// policy-independent ones (pool, thread cache, large blocks), over the heaps of one policy type
// (MultiheapLayer over the per-heap layers over Yorktown, Watson or 3.1). Built at start-up and
// again when mallopt(M_MXFAST) changes the policy before the first allocation; every call is one
// predictable branch, no virtual call. Part of the assembly: it is where the policies meet.
#pragma once

#include <algorithm>
#include <new>

#include "libmalloc/base/config.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/meta.h"
#include "options/buckets.h"
#include "options/disclaim.h"
#include "options/multiheap.h"
#include "policies/three_one.h"
#include "policies/watson.h"
#include "policies/yorktown.h"

namespace aixmalloc::rt {

// The heaps of one policy, each policy wrapped in the per-heap layers.
template <class Policy>
using Heaps = MultiheapLayer<BucketsLayer<DisclaimLayer<Policy>>>;

class PolicySwitch {
  // Watson's and 3.1's heaps out of line: a caller holds a call for each, not their code inlined
  // beside Yorktown's (the whole stack's allocate was 18.5 KiB, the library's code 533 KiB, now
  // 418), so that the pages a program under watson2 runs in hold the code it runs
  // (libmalloc/hot_text.ld). Yorktown, the default, keeps its code inline: out of line, a small
  // malloc/free pair took 674 instructions instead of 567 (callgrind, small_single).
  template <class H, class Fn>
  [[gnu::noinline]] static decltype(auto) out_of_line(H& h, Fn& fn) {
    return fn(h);
  }

 public:
  // Runs fn on the heaps of the configured policy.
  template <class Fn>
  decltype(auto) with(Fn&& fn) {
    switch (policy_) {
      case Policy::kWatson:
      case Policy::kWatson2:  // its blocks over 16 KiB (policies/watson2.h)
        return out_of_line(*std::launder(reinterpret_cast<Heaps<Watson>*>(storage_)), fn);
      case Policy::kV31:
      case Policy::kV31_64:
        return out_of_line(*std::launder(reinterpret_cast<Heaps<ThreeOne>*>(storage_)), fn);
      default:
        return fn(*std::launder(reinterpret_cast<Heaps<Yorktown>*>(storage_)));
    }
  }

  // (Re)builds the heaps of c.policy. Only before any block exists: the old heaps are dropped.
  // Default-initialised: "()" would clear the room of all 32 heaps, 145 KiB, before configure()
  // builds the ones in use.
  void configure(const Config& c) {
    if (storage_ == nullptr) {
      storage_ = static_cast<unsigned char*>(claim_room(g_room_claimed, g_room, kSize));
      if (storage_ == nullptr) {
        static constexpr char kLine[] = "aixmalloc: no memory for the heaps of a second stack\n";
        warn(kLine, sizeof kLine - 1);
        __builtin_trap();
      }
    }
    policy_ = c.policy;
    switch (policy_) {
      case Policy::kWatson:
      case Policy::kWatson2:
        new (storage_) Heaps<Watson>;
        break;
      case Policy::kV31:
      case Policy::kV31_64:
        new (storage_) Heaps<ThreeOne>;
        break;
      default:
        new (storage_) Heaps<Yorktown>;
        break;
    }
    with([&](auto& h) { h.configure(c); });
  }

  void* allocate(size_t size, size_t align) { return with([&](auto& h) { return h.allocate(size, align); }); }
  void release(void* p, Owner o, const char* call) { with([&](auto& h) { h.release(p, o, call); }); }
  size_t usable_size(void* p, Owner o, const char* call) {
    return with([&](auto& h) { return h.usable_size(p, o, call); });
  }
  void* reallocate(void* p, Owner o, size_t size) { return with([&](auto& h) { return h.reallocate(p, o, size); }); }
  void clear(void* p, size_t size) { with([&](auto& h) { h.clear(p, size); }); }
  size_t trim() { return with([](auto& h) { return h.trim(); }); }
  bool check(Text* why) { return with([&](auto& h) { return h.check(why); }); }
  // This and statistics() may come before the stack is built (mallopt or a report asked for
  // while the runtime starts: ensure_started() returns false to its own thread); the others only
  // once the runtime is ready.
  bool any_allocation() { return storage_ && with([](auto& h) { return h.any_allocation(); }); }
  // Whether a MALLOCDEBUG layer above is on: each debug layer answers for itself and asks the next;
  // the other layers inherit this answer (stack.h).
  bool debug_active() const { return false; }
  void statistics(Statistics& f) {
    if (storage_) with([&](auto& h) { h.statistics(f); });
  }
  void fork_prepare() { with([](auto& h) { h.fork_prepare(); }); }
  void fork_parent() { with([](auto& h) { h.fork_parent(); }); }
  void fork_child() { with([](auto& h) { h.fork_child(); }); }
  void fork_child_set_aside() { with([](auto& h) { h.fork_child_set_aside(); }); }

  // What the thread cache asks of the heaps (options/multiheap.h).
  unsigned heap_count() { return with([](auto& h) { return h.heap_count(); }); }
  unsigned own_heap() { return with([](auto& h) { return h.own_heap(); }); }
  unsigned heap_index(Owner o) { return with([&](auto& h) { return h.heap_index(o); }); }
  template <class Take>
  unsigned allocate_batch(size_t size, unsigned want, Take take) {
    return with([&](auto& h) { return h.allocate_batch(size, want, take); });
  }
  template <class Give>
  void release_batch(unsigned i, Give give) {
    with([&](auto& h) { h.release_batch(i, give); });
  }
  unsigned thread_home() { return with([](auto& h) { return h.thread_home(); }); }
  void inherit_thread_home(unsigned home) { with([&](auto& h) { h.inherit_thread_home(home); }); }

 private:
  static constexpr size_t kSize =
      std::max({sizeof(Heaps<Yorktown>), sizeof(Heaps<Watson>), sizeof(Heaps<ThreeOne>)});
  // The heaps' room (145 KiB, for 32 heaps) is a table of its own, not a member: inside, it put
  // the few words of the layers above this one pages away from the words before it, and a process
  // touched a page at each end as it started (libmalloc/base/meta.h, claim_room).
  static unsigned char g_room[kSize];  // policy_switch.cpp
  static std::atomic<bool> g_room_claimed;
  Policy policy_ = Policy::kYorktown;
  unsigned char* storage_ = nullptr;  // set by the first configure()
};

}  // namespace aixmalloc::rt
