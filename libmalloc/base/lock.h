// The allocator's own mutex: one word, no allocation, no pthread state, so it can live in static
// storage that is zero-initialised before any constructor runs, and a forked child can simply
// reset it. Uncontended lock and unlock are one atomic each (none while the process has one
// thread); waiters sleep on a futex.
#pragma once

#include <sys/single_threaded.h>

#include <atomic>
#include <cstdint>

#include "libmalloc/base/fatal.h"

namespace aixmalloc {

// Locks this thread has taken (plain TLS counter, no atomic): lets tests prove that a path takes
// none, and costs one add per acquisition.
extern __thread uint64_t t_lock_acquisitions;
// Locks this thread holds now (and sections it is in that count as one: BusySection). A signal
// handler that must take locks (the live statistics of AIXMALLOC_STATS_SIGNAL) may do so only when
// this is 0; otherwise it defers the work to the moment the count returns to 0 (see
// defer_until_unlocked). fork() preparation reads it too: a thread that holds a lock must not wait
// for the others (libmalloc/fork.cpp).
extern __thread uint32_t t_locks_held;

// Work deferred by a signal handler that interrupted this thread inside the allocator: the last
// unlock of any thread runs it, holding no lock. The hook is set once, at start-up.
void set_deferred_hook(void (*hook)());
void defer_until_unlocked();
void run_deferred();
extern std::atomic<bool> g_deferred;

class Lock {
 public:
  constexpr Lock() = default;
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

  // t_locks_held is raised before the lock is taken and lowered after it is released (the signal
  // fences keep the compiler from moving it across), so a signal handler on this thread never sees
  // 0 while the thread holds a lock. True when another thread held it (the heaps count these).
  // While the process has one thread (glibc's __libc_single_threaded, which its own malloc trusts
  // the same way: only this thread could start another, and the allocator starts none), lock and
  // unlock are plain stores: in a single-threaded malloc/free loop under Yorktown, three
  // quarters of the samples in malloc's and free's entry points fell on the two atomics (each waits
  // for the stores before it), and the loop took 18 % less time without them. A lock already held
  // then can only be held by this thread: the allocator was entered again from inside itself (a
  // signal handler that allocates), and it stops with a report rather than work on a heap that is
  // half changed.
  bool lock() {
    ++t_lock_acquisitions;
    ++t_locks_held;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (__libc_single_threaded) {
      if (__builtin_expect(state_.load(std::memory_order_relaxed) != 0, 0)) report_lock_reentry(this);
      state_.store(1, std::memory_order_relaxed);
      return false;
    }
    uint32_t expected = 0;
    if (state_.compare_exchange_strong(expected, 1, std::memory_order_acquire)) return false;
    lock_slow();
    return true;
  }
  bool try_lock() {
    ++t_locks_held;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    uint32_t expected = 0;
    bool got = state_.compare_exchange_strong(expected, 1, std::memory_order_acquire);
    t_lock_acquisitions += got;
    if (!got) release_held();
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
  // With one thread there is nobody to wake: a thread that waited would be a second thread (and
  // __libc_single_threaded, once false, stays false).
  void unlock() {
    if (__libc_single_threaded)
      state_.store(0, std::memory_order_release);
    else if (state_.exchange(0, std::memory_order_release) == 2)
      wake_one();
    release_held();
  }
  bool is_locked() const { return state_.load(std::memory_order_relaxed) != 0; }
  // After fork, in the child: the thread that held the lock does not exist there (and the one that
  // forked holds none any more: reset_held_in_child()).
  void reset_in_child() { state_.store(0, std::memory_order_relaxed); }
  // Writes only what is set: in a child that is about to exec, each page it writes is a copy
  // (a page fault) that a shell pays at every command it runs.
  static void reset_held_in_child() {
    if (t_locks_held != 0) t_locks_held = 0;
    if (g_deferred.load(std::memory_order_relaxed)) g_deferred.store(false, std::memory_order_relaxed);
  }

  static void release_held() {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (--t_locks_held == 0 && __builtin_expect(g_deferred.load(std::memory_order_relaxed), 0))
      run_deferred();
  }

 private:
  void lock_slow();
  void wake_one();
  // 0 free, 1 locked, 2 locked with (possible) sleepers.
  std::atomic<uint32_t> state_{0};
};

// For critical sections of a few dozen instructions that call nothing (the Malloc Log's stripes):
// one atomic to lock and a plain store to unlock, half of Lock's cost, and no atomic at all while
// the process has one thread (glibc's __libc_single_threaded, which its own malloc trusts the same
// way: only this thread could start another, and it is here). A waiter spins, then yields the
// processor (a holder preempted by the scheduler), and never sleeps on a futex. Counted in
// t_locks_held like Lock.
class SpinLock {
 public:
  constexpr SpinLock() = default;
  SpinLock(const SpinLock&) = delete;
  SpinLock& operator=(const SpinLock&) = delete;

  void lock() {
    ++t_lock_acquisitions;
    ++t_locks_held;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (__libc_single_threaded) {
      if (__builtin_expect(state_.load(std::memory_order_relaxed), 0)) report_lock_reentry(this);  // as Lock
      state_.store(true, std::memory_order_relaxed);
      return;
    }
    if (__builtin_expect(!state_.exchange(true, std::memory_order_acquire), 1)) return;
    lock_slow();
  }
  void unlock() {
    state_.store(false, std::memory_order_release);
    Lock::release_held();
  }
  bool is_locked() const { return state_.load(std::memory_order_relaxed); }
  void reset_in_child() { state_.store(false, std::memory_order_relaxed); }

 private:
  void lock_slow();
  std::atomic<bool> state_{false};
};

// On a lock that fork's handlers take (and on nothing else): the linker gathers such locks on one
// page (libmalloc/hot_text.ld). In a process that has had a second thread, the handlers lock and
// release every one of them, and each page that holds one costs a copy-on-write fault in the
// parent (its release) and one in the child (its reset) at every fork: scattered over the
// layers' pages, eight locks cost twelve faults a fork. Each starts a cache line of its own, so
// that threads taking two of them do not contend for one line. A static library links them with
// .bss.
#define AIXMALLOC_FORK_LOCK [[gnu::section(".bss.aixmalloc_fork_locks")]] alignas(64)

template <class L>
class LockGuard {
 public:
  explicit LockGuard(L& l) : lock_(l) { lock_.lock(); }
  ~LockGuard() { lock_.unlock(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  L& lock_;
};


// The fork hooks of a layer that has one lock of its own, around the layers below it (Next): its
// lock is taken before theirs and let go after them, so the order of the whole stack is its
// order from the top down. `own` returns the layer's lock; `set_aside` repairs the layer in a
// child forked without the locks (libmalloc/fork.cpp) and resets the lock.
template <class Next, Lock& (*own)(), void (*set_aside)()>
class LockedAtFork : public Next {
 public:
  void fork_prepare() {
    own().lock();
    Next::fork_prepare();
  }
  void fork_parent() {
    Next::fork_parent();
    own().unlock();
  }
  void fork_child() {
    Next::fork_child();
    own().reset_in_child();
  }
  void fork_child_set_aside() {
    Next::fork_child_set_aside();
    set_aside();
  }
};

// A stretch of code that changes this thread's own structures in several steps without a lock (the
// pool's slow path): a signal handler that interrupts it must not take those structures as
// consistent, so it counts as a held lock in t_locks_held.
class BusySection {
 public:
  BusySection() {
    ++t_locks_held;
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }
  ~BusySection() { Lock::release_held(); }
  BusySection(const BusySection&) = delete;
  BusySection& operator=(const BusySection&) = delete;
};

}  // namespace aixmalloc
