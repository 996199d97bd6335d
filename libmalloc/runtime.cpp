// Start-up: reads the variables once, on the first call, prints their diagnostics and assembles
// the configured stack (DESIGN.md invariant 4). The other concerns of the runtime live beside it:
// requests.cpp (the malloc family's semantics), fork.cpp, exit_reports.cpp, live_channel.cpp,
// live_stats.cpp, mallopt.cpp and snapshot.cpp.
#include <atomic>
#include <cstring>

#include "libmalloc/assembly.h"
#include "libmalloc/base/debug_output.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/os.h"
#include "libmalloc/exit_reports.h"
#include "libmalloc/log_side.h"
#include "libmalloc/replacement.h"

extern char** environ;
// AIX lets a program name its replacement library in this variable of its own. Weak: most programs
// define none. The loader binds it when the program exports it (linked with -rdynamic, or against
// this library), with no lookup at start-up.
extern "C" char* _malloc_user_defined_name __attribute__((weak));

namespace aixmalloc::rt {

// All zero bits until start() parses the variables, which writes its first page (a table of its
// own, since the diagnostics' lines after it are written only when there are some).
AIXMALLOC_LARGE_TABLE alignas(4096) constinit Config g_config;
Policy g_policy = Policy::kYorktown;
size_t g_default_align = kAlignment;
constinit Stack g_stack;  // small: its large tables are rooms of their own (claim_room)
constinit std::atomic<int> g_state{kUninit};

namespace {

constinit std::atomic<uintptr_t> g_starter{0};

void load_replacement();

void start() {
  RawVariables raw;
  read_variables(environ, &raw);
  ParseContext ctx;
  ctx.secure = os::is_secure();
  if (&_malloc_user_defined_name != nullptr) ctx.program_replacement = _malloc_user_defined_name;
  parse_config(raw, ctx, &g_config);
  print_diagnostics(g_config.diagnostics);
  g_policy = g_config.policy;
  debug::configure_output(g_config.enabled(OptionId::kContinue));
  build_stack();
  if (g_config.policy == Policy::kUser) load_replacement();
  prepare_reports();
}

// MALLOCTYPE=user:NAME, with no allocator lock held: the loader's requests (and the library's, which
// are refused) take the debug layers' path, which notes their caller, to the bootstrap area. Then
// every call goes to the replacement on that path, the pool's inline paths being off.
void load_replacement() {
  g_debug_layers = true;
  g_log_alone = false;
  if (replacement::load(g_config.replacement)) {
    pool::set_fast(pool::kFastOff);
    return;
  }
  g_config.policy = g_policy = Policy::kYorktown;  // the heaps were built as Yorktown's
  g_debug_layers = g_stack.debug_active();
  keep_zero_size_path();
}

__attribute__((constructor)) void on_load() {
  ensure_started();
  install_fork_handlers();
}

}  // namespace

bool g_debug_layers = false;
bool g_log_alone asm("aixmalloc_log_alone") = false;

// AIXMALLOC_ZERO_SIZE=null: a request of 0 bytes must reach the runtime's test, so malloc leaves
// the pool's inline path and takes the path of the debug layers (allocate_debug, requests.cpp).
void keep_zero_size_path() {
  if (!g_config.zero_size_null) return;
  g_debug_layers = true;
  g_log_alone = false;
  pool::set_fast(pool::kFastOff);
}

void build_stack() {
  g_stack.configure(g_config);
  g_debug_layers = g_stack.debug_active();
  g_log_alone = g_stack.log_alone();
  // The Malloc Log keeps the pool's and watson2's blocks in side arrays (log_side.h), except with
  // `extended`, whose fields only the table has room for. Set once: blocks noted there stay there.
  // Without either allocator, no block would have an entry: the log asks nothing.
  if (mlog::g_on && !mlog::extended() && mlog::g_side_of == nullptr &&
      (pool::enabled() || watson2::g_area.enabled)) {
    mlog::g_side_of = log_entry_of;
    mlog::side::g_on = true;
  }
  keep_zero_size_path();
  g_stack.inline_allowed(!g_debug_layers);  // watson2's inline path, as the pool's (policies/watson2.h)
  choose_release_path(g_log_alone);
}

bool ensure_started() {
  int s = g_state.load(std::memory_order_acquire);
  if (s == kReady) return true;
  int expected = kUninit;
  if (s == kUninit && g_state.compare_exchange_strong(expected, kStarting)) {
    g_starter.store(os::thread_self(), std::memory_order_relaxed);
    start();
    g_state.store(kReady, std::memory_order_release);
    start_live_channel();  // its handler needs a ready runtime
    return true;
  }
  if (g_starter.load(std::memory_order_relaxed) == os::thread_self()) return false;
  while (g_state.load(std::memory_order_acquire) != kReady) os::yield();
  return true;
}

void startup_reset_in_child() {
  if (g_state.load(std::memory_order_acquire) == kStarting)
    g_starter.store(os::thread_self(), std::memory_order_relaxed);
}

bool started() { return ready(); }

const Config& config() {
  ensure_started();
  return g_config;
}

}  // namespace aixmalloc::rt
