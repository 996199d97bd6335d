// The allocator's own locks (libmalloc/base/lock.h): mutual exclusion under contention (the futex
// path included; SpinLock's spin and yield), try_lock, the per-thread counts of acquisitions and of
// locks held, and the work a signal handler defers until its thread holds no lock.
#include "libmalloc/base/lock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#if defined(__has_feature)
#define AIXMALLOC_CLANG_TSAN __has_feature(thread_sanitizer)
#else
#define AIXMALLOC_CLANG_TSAN 0
#endif

namespace aixmalloc {
namespace {

// Four threads increment a plain counter under `lock`: only the lock keeps the increments apart.
// A longer hold now and then sends the others past the spin (to sleep on the futex, or to yield).
template <class L>
void expect_exclusion(L& lock) {
  constexpr int kThreads = 4, kRounds = 100000;
  uint64_t counter = 0;
  int inside = 0;
  std::atomic<bool> overlap{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) {
        LockGuard guard(lock);
        if (++inside != 1) overlap = true;
        ++counter;
        if (i % 1000 == 0) std::this_thread::yield();
        --inside;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, uint64_t{kThreads} * kRounds);
  EXPECT_FALSE(overlap);
  EXPECT_FALSE(lock.is_locked());
}

TEST(Lock, ExcludesUnderContention) {
  Lock lock;
  expect_exclusion(lock);
}

TEST(Lock, SleeperIsWokenByUnlock) {
  Lock lock;
  lock.lock();
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    lock.lock();  // spins, then sleeps on the futex: the state says "locked with sleepers"
    got = true;
    lock.unlock();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(got);
  lock.unlock();  // must wake it
  waiter.join();
  EXPECT_TRUE(got);
  EXPECT_FALSE(lock.is_locked());
}

// While the process has one thread, lock and unlock are plain stores. A lock taken then, and held
// while the holder starts a second thread, must still keep that thread out and wake it when it is
// released (each test runs in a process of its own: this one starts with one thread).
TEST(Lock, TakenWithOneThreadStillExcludesAThreadStartedWhileHeld) {
  if (!__libc_single_threaded) GTEST_SKIP() << "this process has already had a second thread";
  Lock lock;
  lock.lock();
  EXPECT_TRUE(lock.is_locked());
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    lock.lock();
    got = true;
    lock.unlock();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(got);
  lock.unlock();
  waiter.join();
  EXPECT_TRUE(got);
  EXPECT_FALSE(lock.is_locked());
}

// With one thread, a lock already held can only be held by the thread taking it again: the
// allocator entered from inside itself (a signal handler that allocates). It stops with a report
// naming the lock rather than wait for itself for ever.
TEST(LockDeathTest, TakenAgainByItsHolderWithOneThreadIsReported) {
#if defined(__SANITIZE_THREAD__) || AIXMALLOC_CLANG_TSAN
  // ThreadSanitizer starts a background thread in the death test's child: the child has
  // two threads, and its second lock() waits for ever, as in any multithreaded process.
  GTEST_SKIP() << "the child of a death test has ThreadSanitizer's thread as well";
#endif
  if (!__libc_single_threaded) GTEST_SKIP() << "this process has already had a second thread";
  static Lock lock;
  static SpinLock spin;
  EXPECT_DEATH(
      {
        lock.lock();
        lock.lock();
      },
      "^aixmalloc: the allocator was entered again by a thread already inside it \\(a signal handler that "
      "calls malloc or free\\?\\): lock 0x[0-9a-f]+ held by this thread");
  EXPECT_DEATH(
      {
        spin.lock();
        spin.lock();
      },
      "entered again by a thread already inside it");
}

TEST(Lock, TryLockFailsWhileHeld) {
  Lock lock;
  ASSERT_TRUE(lock.try_lock());
  EXPECT_TRUE(lock.is_locked());
  EXPECT_FALSE(lock.try_lock());  // not recursive, even on the holder's thread
  bool other = true;
  std::thread([&] { other = lock.try_lock() || lock.try_lock_briefly(); }).join();
  EXPECT_FALSE(other);
  lock.unlock();
  EXPECT_FALSE(lock.is_locked());
  std::thread([&] {
    other = lock.try_lock_briefly();
    if (other) lock.unlock();
  }).join();
  EXPECT_TRUE(other);
}

TEST(Lock, CountsAcquisitionsAndLocksHeld) {
  Lock a, b;
  uint64_t taken = t_lock_acquisitions;
  EXPECT_EQ(t_locks_held, 0u);
  a.lock();
  EXPECT_EQ(t_locks_held, 1u);
  ASSERT_TRUE(b.try_lock());
  EXPECT_EQ(t_locks_held, 2u);
  EXPECT_FALSE(b.try_lock());  // a failed attempt counts as no acquisition and holds nothing
  EXPECT_EQ(t_locks_held, 2u);
  EXPECT_EQ(t_lock_acquisitions, taken + 2);
  b.unlock();
  EXPECT_EQ(t_locks_held, 1u);
  a.unlock();
  EXPECT_EQ(t_locks_held, 0u);
  {
    LockGuard guard(a);
    EXPECT_EQ(t_locks_held, 1u);
  }
  EXPECT_EQ(t_locks_held, 0u);
  EXPECT_EQ(t_lock_acquisitions, taken + 3);
  // The counts are the calling thread's own.
  uint64_t other_taken = 0;
  std::thread([&] {
    LockGuard guard(a);
    other_taken = t_lock_acquisitions;
  }).join();
  EXPECT_EQ(other_taken, 1u);
  EXPECT_EQ(t_lock_acquisitions, taken + 3);
}

std::atomic<int> g_hook_runs{0};
std::atomic<uint32_t> g_held_when_run{99};
void count_hook() {
  g_held_when_run = t_locks_held;
  g_hook_runs.fetch_add(1);
}

// What a signal handler does when it interrupts a thread inside the allocator: the work waits for
// the thread's last unlock, runs once, and runs holding no lock.
TEST(Lock, DeferredWorkRunsOnceAtTheLastUnlock) {
  set_deferred_hook(count_hook);
  Lock a, b;
  a.lock();
  b.lock();
  defer_until_unlocked();
  b.unlock();
  EXPECT_EQ(g_hook_runs.load(), 0) << "ran while a lock was still held";
  a.unlock();
  EXPECT_EQ(g_hook_runs.load(), 1);
  EXPECT_EQ(g_held_when_run.load(), 0u);
  a.lock();
  a.unlock();
  EXPECT_EQ(g_hook_runs.load(), 1) << "ran twice for one request";
  set_deferred_hook(nullptr);
}

// The Malloc Log's SpinLock: the same exclusion, a holder that yields now and then making the
// others spin and then yield; and, while the process had one thread, the lock is still taken.
TEST(SpinLock, ExcludesUnderContention) {
  SpinLock lock;
  lock.lock();  // this process may still have one thread here: the lock shows as held all the same
  EXPECT_TRUE(lock.is_locked());
  EXPECT_EQ(t_locks_held, 1u);
  lock.unlock();
  EXPECT_EQ(t_locks_held, 0u);
  expect_exclusion(lock);
}

// After fork, the child resets a lock the parent's other threads held, and its own count.
TEST(Lock, ResetInChild) {
  Lock lock;
  lock.lock();
  lock.reset_in_child();
  EXPECT_FALSE(lock.is_locked());
  EXPECT_TRUE(lock.try_lock());
  Lock::reset_held_in_child();
  EXPECT_EQ(t_locks_held, 0u);
  lock.reset_in_child();
}

}  // namespace
}  // namespace aixmalloc
