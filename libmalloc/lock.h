// The allocator's own mutex: one word, no allocation, no pthread state, so it can live in static
// storage that is zero-initialised before any constructor runs, and a forked child can simply
// reset it. Uncontended lock and unlock are one atomic each; waiters sleep on a futex.
#pragma once

#include <atomic>
#include <cstdint>

namespace aixmalloc {

// Locks this thread has taken (plain TLS counter, no atomic): lets tests prove that a path takes
// none, and costs one add per acquisition.
extern __thread uint64_t t_lock_acquisitions;

class Lock {
 public:
  constexpr Lock() = default;
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

  void lock() {
    ++t_lock_acquisitions;
    uint32_t expected = 0;
    if (state_.compare_exchange_strong(expected, 1, std::memory_order_acquire)) return;
    lock_slow();
  }
  bool try_lock() {
    uint32_t expected = 0;
    bool got = state_.compare_exchange_strong(expected, 1, std::memory_order_acquire);
    t_lock_acquisitions += got;
    return got;
  }
  // try_lock, retrying while the holder is likely about to release (a few hundred cycles).
  bool try_lock_briefly() {
    for (int i = 0; i < 64; ++i) {
      if (state_.load(std::memory_order_relaxed) == 0 && try_lock()) return true;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    return false;
  }
  void unlock() {
    if (state_.exchange(0, std::memory_order_release) == 2) wake_one();
  }
  bool is_locked() const { return state_.load(std::memory_order_relaxed) != 0; }
  // After fork, in the child: the thread that held the lock does not exist there.
  void reset_in_child() { state_.store(0, std::memory_order_relaxed); }

 private:
  void lock_slow();
  void wake_one();
  // 0 free, 1 locked, 2 locked with (possible) sleepers.
  std::atomic<uint32_t> state_{0};
};

class LockGuard {
 public:
  explicit LockGuard(Lock& l) : lock_(l) { lock_.lock(); }
  ~LockGuard() { lock_.unlock(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  Lock& lock_;
};

}  // namespace aixmalloc
