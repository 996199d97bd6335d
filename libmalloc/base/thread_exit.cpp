// The thread-exit registry (thread_exit.h): one pthread key for the whole allocator, whose
// destructor runs the layers' exit hooks in the order they were registered.
#include "libmalloc/base/thread_exit.h"

#include <pthread.h>

#include <atomic>
#include <cstdint>

namespace aixmalloc::thread_exit {
namespace {

enum State : uint8_t { kFresh, kWatching, kWatched, kExited };
__thread uint8_t t_state = kFresh;

constexpr unsigned kMaxHooks = 4;
Hook g_hooks[kMaxHooks] = {};
std::atomic<unsigned> g_count{0};
pthread_key_t g_key;

void on_exit(void*) {
  t_state = kExited;
  unsigned n = g_count.load(std::memory_order_acquire);
  for (unsigned i = 0; i < n; ++i) g_hooks[i]();
}

}  // namespace

bool add_hook(Hook hook) {
  unsigned n = g_count.load(std::memory_order_relaxed);
  for (unsigned i = 0; i < n; ++i)
    if (g_hooks[i] == hook) return true;  // a stack rebuilt by mallopt registers again
  if (n == kMaxHooks) return false;
  if (n == 0 && pthread_key_create(&g_key, on_exit) != 0) return false;
  g_hooks[n] = hook;
  g_count.store(n + 1, std::memory_order_release);
  return true;
}

bool watch() {
  if (__builtin_expect(t_state == kWatched, 1)) return true;
  if (t_state != kFresh) return false;
  t_state = kWatching;
  // Any non-null value makes the key's destructor run at exit; the hooks find their own records.
  bool ok = pthread_setspecific(g_key, &t_state) == 0;
  t_state = ok ? kWatched : kFresh;
  return ok;
}

}  // namespace aixmalloc::thread_exit
