// Slow paths of Lock: a short spin, then futex sleep (Drepper's "mutex 2" scheme).
#include "libmalloc/base/lock.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace aixmalloc {

__thread uint64_t t_lock_acquisitions = 0;
__thread uint32_t t_locks_held = 0;
constinit std::atomic<bool> g_deferred{false};

namespace {

constinit std::atomic<void (*)()> g_hook{nullptr};

void futex(std::atomic<uint32_t>* word, int op, uint32_t value) {
  int saved = errno;
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), op | FUTEX_PRIVATE_FLAG, value, nullptr,
          nullptr, 0);
  errno = saved;
}

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
  while (state_.exchange(2, std::memory_order_acquire) != 0) futex(&state_, FUTEX_WAIT, 2);
}

void Lock::wake_one() { futex(&state_, FUTEX_WAKE, 1); }

void set_deferred_hook(void (*hook)()) { g_hook.store(hook, std::memory_order_release); }

void defer_until_unlocked() { g_deferred.store(true, std::memory_order_relaxed); }

// Called by unlock() with no lock held; the first thread to get here runs the hook once.
void run_deferred() {
  if (!g_deferred.exchange(false, std::memory_order_acquire)) return;
  if (void (*hook)() = g_hook.load(std::memory_order_acquire)) hook();
}

}  // namespace aixmalloc
