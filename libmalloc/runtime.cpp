// Start-up: reads the variables once, on the first call, prints their diagnostics and assembles
// the configured stack (DESIGN.md invariant 4). The other concerns of the runtime live beside it:
// requests.cpp (the malloc family's semantics), fork.cpp, exit_reports.cpp, live_stats.cpp,
// mallopt.cpp and snapshot.cpp.
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>

#include "libmalloc/assembly.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/os.h"
#include "options/pool.h"

extern char** environ;

namespace aixmalloc::rt {

constinit Config g_config;
Policy g_policy = Policy::kYorktown;
bool g_tcache = false;
size_t g_default_align = kAlignment;
alignas(64) unsigned char g_stack_storage[kStackSize];
constinit std::atomic<int> g_state{kUninit};

// Pool fast path on: set at start-up before the runtime is published as ready; cleared when
// mallopt(M_MALIGN) asks for more alignment than pool blocks have.
constinit std::atomic<bool> g_pool_fast{false};

namespace {

constinit std::atomic<int> g_starter{0};

void print_diagnostics(const Diagnostics& d) {
  for (size_t i = 0; i < d.count; ++i) warn(d.lines[i], strlen(d.lines[i]));
  if (d.dropped) {
    TextBuf<96> t;
    t.num(d.dropped).str(" more configuration problems not shown");
    warn(t.data(), t.size());
  }
}

void start() {
  RawVariables raw;
  read_variables(environ, &raw);
  ParseContext ctx;
  ctx.secure = os::is_secure();
  parse_config(raw, ctx, &g_config);
  print_diagnostics(g_config.diagnostics);
  g_policy = g_config.policy;
  build_stack();
  g_tcache = g_config.enabled(OptionId::kThreadcache);
  if (g_config.enabled(OptionId::kPool)) {
    if (pool::configure(g_config.value(OptionId::kPool))) {
      g_pool_fast.store(true, std::memory_order_release);
    } else {
      static const char kNoRoom[] = "MALLOCOPTIONS: pool: no address space for the pool; pool is off";
      warn(kNoRoom, sizeof(kNoRoom) - 1);
    }
  }
}

__attribute__((constructor)) void on_load() {
  ensure_started();
  install_fork_handlers();
}

}  // namespace

void build_stack() {
  switch (g_policy) {
    case Policy::kWatson:
      new (g_stack_storage) Stack<Watson>(g_config);
      break;
    case Policy::kV31:
    case Policy::kV31_64:
      new (g_stack_storage) Stack<ThreeOne>(g_config);
      break;
    default:
      new (g_stack_storage) Stack<Yorktown>(g_config);
      break;
  }
}

bool ensure_started() {
  int s = g_state.load(std::memory_order_acquire);
  if (s == kReady) return true;
  int expected = kUninit;
  if (s == kUninit && g_state.compare_exchange_strong(expected, kStarting)) {
    g_starter.store(os::thread_id(), std::memory_order_relaxed);
    start();
    g_state.store(kReady, std::memory_order_release);
    if (g_config.stats_signal) install_stats_signal();  // its handler needs a ready runtime
    return true;
  }
  if (g_starter.load(std::memory_order_relaxed) == os::thread_id()) return false;
  while (g_state.load(std::memory_order_acquire) != kReady) sched_yield();
  return true;
}

void startup_reset_in_child() {
  if (g_state.load(std::memory_order_acquire) == kStarting)
    g_starter.store(os::thread_id(), std::memory_order_relaxed);
}

bool started() { return ready(); }

const Config& config() {
  ensure_started();
  return g_config;
}

}  // namespace aixmalloc::rt
