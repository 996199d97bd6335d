// The runtime's shared state: the configuration read at start-up, the policy it chose and the
// configured stack. Included by the files of the assembly
// (libmalloc/*.cpp) only; the exported entry points see runtime.h.
#pragma once

#include <atomic>
#include <cstddef>

#include "libmalloc/base/platform.h"
#include "libmalloc/base/config.h"
#include "libmalloc/reports.h"
#include "libmalloc/runtime.h"
#include "libmalloc/stack.h"

namespace aixmalloc::rt {

extern Config g_config;
extern Policy g_policy;
extern size_t g_default_align;  // mallopt(M_MALIGN)

// The configured stack (stack.h).
extern Stack g_stack;
// True when a MALLOCDEBUG layer is on: the requests go through the whole stack; otherwise through
// its PlainStack part, past the debug layers. Set with the stack, before the runtime is ready.
extern bool g_debug_layers;
// True when the Malloc Log is the one MALLOCDEBUG layer on (no trace, no replacement, no
// AIXMALLOC_ZERO_SIZE=null): malloc and free then run the plain stack's path with the log's note
// around it (requests.cpp), the same work as the whole stack's without the other layers' tests.
// Named for the assembly of malloc's route to it (allocate_off_fast_tail).
[[gnu::visibility("hidden")]] extern bool g_log_alone asm("aixmalloc_log_alone");

// Configures the stack for g_config (at start-up, and when mallopt(M_MXFAST) replaces the policy
// before the first allocation).
void build_stack();
// After anything that may turn the pool's inline path back on (mallopt(M_MALIGN)).
void keep_zero_size_path();

// True when the runtime is ready; false when the caller re-entered from its own start-up and must
// use the bootstrap area. Other threads wait for the starter, who never waits for them.
bool ensure_started();
enum StartState : int { kUninit, kStarting, kReady };
extern std::atomic<int> g_state;
inline bool ready() { return g_state.load(std::memory_order_acquire) == kReady; }
// After a fork during start-up, in the child: the starter's call will not finish there, so the
// child's thread serves itself from the bootstrap area instead of waiting for it.
void startup_reset_in_child();


// The handlers of pthread_atfork (fork.cpp), installed at start-up.
void install_fork_handlers();
// The live statistics' channel (live_channel.cpp): opened once the runtime is ready, unless
// AIXMALLOC_STATS_SIGNAL=off or the process is set-uid.
void start_live_channel();
// sigaction() for the program on a signal the channel uses or may move to (live_channel_watches):
// the program sees the action it would see without aixmalloc (aixmalloc(7)).
bool live_channel_watches(int sig);
int live_channel_sigaction(int sig, const struct ::sigaction* act, struct ::sigaction* old);
// What a signal on the channel asks; kNone (after taking the default action the program expects,
// for a signal aixmalloc picked) when it is not a request.
enum class LiveRequestKind { kNone, kStatistics, kLeaks };
LiveRequestKind live_request_kind(int sig, const siginfo_t* info);
void live_channel_reset_in_child();
// The answering side (live_stats.cpp): the handler, and its deferred hook.
void live_signal_handler(int sig, siginfo_t* info, void* context);
void prepare_live_statistics();
void live_statistics_reset_in_child();

}  // namespace aixmalloc::rt
