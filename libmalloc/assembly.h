// The runtime's shared state: the configuration read at start-up, the policy it chose and the
// configured stack, reached through with_stack(). Included by the files of the assembly
// (libmalloc/*.cpp) only; the exported entry points see runtime.h.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>

#include "libmalloc/base/platform.h"
#include "libmalloc/config.h"
#include "libmalloc/reports.h"
#include "libmalloc/runtime.h"
#include "libmalloc/stack.h"
#include "options/threadcache.h"
#include "policies/three_one.h"
#include "policies/watson.h"
#include "policies/yorktown.h"

namespace aixmalloc::rt {

extern Config g_config;
extern Policy g_policy;
extern bool g_tcache;           // MALLOCOPTIONS=threadcache (default under watson)
extern size_t g_default_align;  // mallopt(M_MALIGN)

inline constexpr size_t kStackSize =
    std::max({sizeof(Stack<Yorktown>), sizeof(Stack<Watson>), sizeof(Stack<ThreeOne>)});
extern unsigned char g_stack_storage[kStackSize];

// The one switch from the configured policy to its typed stack. Every per-call operation goes
// through here: a predictable branch, no virtual call.
template <class Fn>
decltype(auto) with_stack(Fn&& fn) {
  switch (g_policy) {
    case Policy::kWatson:
      return fn(*reinterpret_cast<Stack<Watson>*>(g_stack_storage));
    case Policy::kV31:
    case Policy::kV31_64:
      return fn(*reinterpret_cast<Stack<ThreeOne>*>(g_stack_storage));
    default:
      return fn(*reinterpret_cast<Stack<Yorktown>*>(g_stack_storage));
  }
}

// Builds the stack of the configured policy in g_stack_storage (at start-up, and when
// mallopt(M_MXFAST) replaces the policy before the first allocation).
void build_stack();

// True when the runtime is ready; false when the caller re-entered from its own start-up and must
// use the bootstrap area. Other threads wait for the starter, who never waits for them.
bool ensure_started();
enum StartState : int { kUninit, kStarting, kReady };
extern std::atomic<int> g_state;
inline bool ready() { return g_state.load(std::memory_order_acquire) == kReady; }
// After a fork during start-up, in the child: the starter's call will not finish there, so the
// child's thread serves itself from the bootstrap area instead of waiting for it.
void startup_reset_in_child();

// Figures gathered for the reports (snapshot.cpp).
void cache_totals(tcache::Totals* t);
void gather_buckets(BucketReport* r);

// The handlers of pthread_atfork (fork.cpp), installed at start-up.
void install_fork_handlers();
// AIXMALLOC_STATS_SIGNAL (live_stats.cpp).
void install_stats_signal();
void live_statistics_reset_in_child();

}  // namespace aixmalloc::rt
