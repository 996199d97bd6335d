// Slow paths of Lock: a short spin, then a futex sleep (Drepper's "mutex 2" scheme); of SpinLock:
// a short spin, then yielding; and the work a signal handler deferred until its thread holds no
// lock.
#include "libmalloc/base/lock.h"

#include "libmalloc/base/os.h"

namespace aixmalloc {

__thread uint64_t t_lock_acquisitions = 0;
__thread uint32_t t_locks_held = 0;
constinit std::atomic<bool> g_deferred{false};

namespace {

constinit std::atomic<void (*)()> g_hook{nullptr};

}  // namespace

void Lock::lock_slow() {
  for (int spin = 0; spin < 100; ++spin) {
    uint32_t expected = 0;
    if (state_.load(std::memory_order_relaxed) == 0 &&
        state_.compare_exchange_weak(expected, 1, std::memory_order_acquire))
      return;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  // Announce a sleeper by moving the state to 2; whoever unlocks then wakes one of us.
  while (state_.exchange(2, std::memory_order_acquire) != 0) os::futex_wait(&state_, 2);
}

void Lock::wake_one() { os::futex_wake_one(&state_); }

void SpinLock::lock_slow() {
  for (unsigned spin = 0;; ++spin) {
    if (!state_.load(std::memory_order_relaxed) &&
        !state_.exchange(true, std::memory_order_acquire))
      return;
    if (spin < 100) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    } else {
      os::yield();
    }
  }
}

void set_deferred_hook(void (*hook)()) { g_hook.store(hook, std::memory_order_release); }

void defer_until_unlocked() { g_deferred.store(true, std::memory_order_relaxed); }

// Called by unlock() with no lock held; the first thread to get here runs the hook once.
void run_deferred() {
  if (!g_deferred.exchange(false, std::memory_order_acquire)) return;
  if (void (*hook)() = g_hook.load(std::memory_order_acquire)) hook();
}

}  // namespace aixmalloc
