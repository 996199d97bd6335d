// The one switch from the configured MALLOCTYPE to the heaps of its policy: the layer under the
// policy-independent ones (pool, thread cache, large blocks), over the heaps of one policy type
// (MultiheapLayer over the per-heap layers over Yorktown, Watson or 3.1). Built at start-up and
// again when mallopt(M_MXFAST) changes the policy before the first allocation; every call is one
// predictable branch, no virtual call. Under watson2, which sends these heaps only its blocks over
// 16 KiB, they are built by the first call that needs them: most short processes never make one,
// and building them wrote a page of the room. Part of the assembly: it is where the policies meet.
#pragma once

#include <algorithm>
#include <atomic>
#include <new>

#include "libmalloc/base/config.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/lock.h"
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
      case Policy::kWatson2:  // its blocks over 16 KiB (policies/watson2.h)
        if (__builtin_expect(!built_.load(std::memory_order_acquire), 0)) build_late();
        [[fallthrough]];
      case Policy::kWatson:
        return out_of_line(*std::launder(reinterpret_cast<Heaps<Watson>*>(storage_)), fn);
      case Policy::kV31:
      case Policy::kV31_64:
        return out_of_line(*std::launder(reinterpret_cast<Heaps<ThreeOne>*>(storage_)), fn);
      default:
        return fn(*std::launder(reinterpret_cast<Heaps<Yorktown>*>(storage_)));
    }
  }

  // (Re)builds the heaps of c.policy (under watson2, later: c must outlive the switch, as the
  // runtime's g_config does). Only before any block exists: the old heaps are dropped.
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
    config_ = &c;
    built_.store(false, std::memory_order_relaxed);
    switch (policy_) {
      case Policy::kWatson2:
        return;  // build_late()
      case Policy::kWatson:
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
  size_t trim() { return built() ? with([](auto& h) { return h.trim(); }) : 0; }
  bool check(Text* why) { return !built() || with([&](auto& h) { return h.check(why); }); }
  // This and statistics() may come before the stack is built (mallopt or a report asked for
  // while the runtime starts: ensure_started() returns false to its own thread); the others only
  // once the runtime is ready.
  bool any_allocation() { return storage_ && built() && with([](auto& h) { return h.any_allocation(); }); }
  // Whether a MALLOCDEBUG layer above is on: each debug layer answers for itself and asks the next;
  // the other layers inherit this answer (stack.h).
  bool debug_active() const { return false; }
  void statistics(Statistics& f) {
    if (storage_) with([&](auto& h) { h.statistics(f); });
  }
  // The build's lock first: a fork never copies heaps half built. A child forked without the locks
  // builds them again if the build had not ended (no block can come from heaps not yet built).
  void fork_prepare() {
    g_build_lock.lock();
    if (built()) with([](auto& h) { h.fork_prepare(); });
  }
  void fork_parent() {
    if (built()) with([](auto& h) { h.fork_parent(); });
    g_build_lock.unlock();
  }
  void fork_child() {
    if (built()) with([](auto& h) { h.fork_child(); });
    g_build_lock.reset_in_child();
  }
  void fork_child_set_aside() {
    if (built()) with([](auto& h) { h.fork_child_set_aside(); });
    g_build_lock.reset_in_child();
  }

  // Whether the heaps exist: under watson2, once a call has needed them.
  bool built() const { return policy_ != Policy::kWatson2 || built_.load(std::memory_order_acquire); }

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
  [[gnu::noinline]] void build_late() {
    LockGuard<Lock> guard(g_build_lock);
    if (built_.load(std::memory_order_relaxed)) return;
    new (storage_) Heaps<Watson>;
    std::launder(reinterpret_cast<Heaps<Watson>*>(storage_))->configure(*config_);
    built_.store(true, std::memory_order_release);
  }

  static constexpr size_t kSize =
      std::max({sizeof(Heaps<Yorktown>), sizeof(Heaps<Watson>), sizeof(Heaps<ThreeOne>)});
  // The heaps' room (145 KiB, for 32 heaps) is a table of its own, not a member: inside, it put
  // the few words of the layers above this one pages away from the words before it, and a process
  // touched a page at each end as it started (libmalloc/base/meta.h, claim_room).
  static unsigned char g_room[kSize];  // policy_switch.cpp
  static std::atomic<bool> g_room_claimed;
  static Lock g_build_lock;  // a leaf, but for the heaps' own locks, which configure() may take
  Policy policy_ = Policy::kYorktown;
  std::atomic<bool> built_{false};    // watson2's heaps (the other policies' are built at once)
  unsigned char* storage_ = nullptr;  // set by the first configure()
  const Config* config_ = nullptr;
};

}  // namespace aixmalloc::rt
