// MALLOCTYPE=watson2 through the exported malloc: the inline path takes no lock, threads that come
// and go in phases hand their blocks on and the process's resident memory stays near its live
// bytes, and the statistics describe it. These tests run in the runtime's executable under every
// configuration and act where watson2 is the policy.
#include <fcntl.h>
#include <malloc.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "libmalloc/aixmalloc.h"
#include "libmalloc/base/os.h"
#include "tests/unit/harness.h"
#include "tests/unit/runtime_harness.h"

namespace {

using aixmalloc::testing::fill;
using aixmalloc::testing::intact;
using aixmalloc::testing::resident_bytes;

bool watson2() {
  const char* type = getenv("MALLOCTYPE");
  return type && strcasecmp(type, "watson2") == 0;
}


// Once warm, malloc and free of up to 16 KiB take no lock, and no heap of the back end sees them.
// Warm: every class has a page of its own (a class leaves the heap's mixed page after 256
// requests; the narrowest, 8 to 16 bytes, has 9 sizes in 16,377 here, 1,100 requests in 2,000,000).
TEST(Watson2, SmallBlocksTakeNoLock) {
  if (!watson2()) GTEST_SKIP() << "runs under MALLOCTYPE=watson2";
  std::vector<void*> warm;
  for (size_t size = 0; size <= 16384; size += 8) warm.push_back(malloc(size));
  for (void* p : warm) free(p);
  for (int i = 0; i < 2000000; ++i) {
    void* volatile p = malloc(8 + static_cast<size_t>(i * 7) % 16377);  // not elided
    free(p);
  }
  unsigned long locks = aixmalloc_thread_lock_count();
  uint64_t sum = 0;
  for (int i = 0; i < 1000000; ++i) {
    auto* p = static_cast<uint64_t*>(malloc(8 + static_cast<size_t>(i * 7) % 16377));
    *p = static_cast<uint64_t>(i);
    sum += *p;
    free(p);
  }
  EXPECT_EQ(aixmalloc_thread_lock_count(), locks);
  EXPECT_EQ(sum, 499999500000u);
}

// Threads in phases: 8 phases of 8 threads; each thread checks and frees half of the blocks its
// counterpart of the previous phase left (threads that have exited) and hands the rest on with
// its own. At the end the process's resident memory exceeds what it had before by at most twice
// the live bytes plus 8 MiB (64 KiB pages per class that a heap touched, and the test's vectors).
TEST(Watson2, ThreadsInPhasesStayNearTheirLiveBytes) {
  if (!watson2()) GTEST_SKIP() << "runs under MALLOCTYPE=watson2";
  constexpr unsigned kPhases = 8, kThreads = 8, kPerThread = 8000;
  struct Live {
    void* p;
    size_t size;
    uint64_t seed;
  };
  std::vector<std::vector<Live>> carried(kThreads);
  for (auto& v : carried) v.reserve(kPerThread * 2);
  size_t start = resident_bytes();
  std::atomic<uint64_t> bad{0};
  for (unsigned phase = 0; phase < kPhases; ++phase) {
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t, phase] {
        std::vector<Live>& mine = carried[t];
        size_t kept = 0;
        for (size_t i = 0; i < mine.size(); ++i) {
          if (!intact(mine[i].p, mine[i].size, mine[i].seed)) bad.fetch_add(1);
          if (i % 2 == 0) {
            free(mine[i].p);
          } else {
            mine[kept++] = mine[i];
          }
        }
        mine.resize(kept);
        for (unsigned i = 0; i < kPerThread; ++i) {
          size_t size = 8 + (i * 40503u + phase * 131u + t) % (i % 64 == 0 ? 16000 : 500);
          void* p = malloc(size);
          uint64_t seed = phase * 1000003u + t * 100003u + i;
          fill(p, size, seed);
          mine.push_back({p, size, seed});
        }
      });
    }
    for (auto& th : threads) th.join();
    std::rotate(carried.begin(), carried.begin() + 1, carried.end());
  }
  EXPECT_EQ(bad.load(), 0u);
  size_t live = 0;
  for (auto& v : carried)
    for (Live& l : v) live += malloc_usable_size(l.p);
  size_t grown = resident_bytes() - start;
  EXPECT_LE(grown, 2 * live + (size_t{8} << 20)) << "live bytes " << live;
  for (auto& v : carried)
    for (Live& l : v) {
      EXPECT_TRUE(intact(l.p, l.size, l.seed));
      free(l.p);
    }
}

// Freed blocks come back before never-used ones: a thread that frees 100 blocks of a class in an
// earlier page gets them back on its next 100 requests of the class (all but what its allocation
// list held already), not blocks of its current page that it never touched.
TEST(Watson2, FreedBlocksComeBeforeNeverUsedOnes) {
  if (!watson2()) GTEST_SKIP() << "runs under MALLOCTYPE=watson2";
  constexpr size_t kSize = 256, kBlocks = 600, kFreed = 100;  // 256 blocks a page
  std::vector<void*> held(kBlocks);
  for (void*& p : held) p = malloc(kSize);
  std::vector<void*> freed(held.begin(), held.begin() + kFreed);
  for (void* p : freed) free(p);
  std::sort(freed.begin(), freed.end());
  size_t reused = 0;
  std::vector<void*> again(kFreed);
  for (void*& p : again) {
    p = malloc(kSize);
    reused += std::binary_search(freed.begin(), freed.end(), p);
  }
  EXPECT_GE(reused, kFreed * 3 / 4);
  for (void* p : again) free(p);
  for (size_t i = kFreed; i < kBlocks; ++i) free(held[i]);
}

// Whether thread `tid` of this process sleeps (state S in /proc/self/task/TID/stat).
bool sleeping(pid_t tid) {
  char path[64], text[512];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", static_cast<int>(tid));
  int fd = open(path, O_RDONLY);
  if (fd < 0) return false;
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return false;
  text[n] = 0;
  const char* end = strrchr(text, ')');  // the command's name may hold spaces and parentheses
  return end && end[1] == ' ' && end[2] == 'S';
}

// A thread that waits in pthread_join leaves its heap to the others: the blocks it allocated and
// the thread it waits for frees are that thread's to reuse. The main thread allocates 16 MiB of
// 256-byte blocks and waits for a worker; the worker, once the main thread sleeps in the join,
// frees them and allocates as much: the process grows by much less than 16 MiB. (It grew by
// 16 MiB when those frees waited in the main thread's pages for its next call: bench_churn's and
// bench_larson's main threads fill a table, then wait while the workers replace it.)
TEST(Watson2, AThreadWaitingInJoinLeavesItsHeap) {
  if (!watson2()) GTEST_SKIP() << "runs under MALLOCTYPE=watson2";
  constexpr size_t kBlocks = 65536, kSize = 256;
  std::vector<void*> mine(kBlocks), theirs(kBlocks);
  for (void*& p : mine) {
    p = malloc(kSize);
    memset(p, 0x5a, kSize);
  }
  pid_t main_tid = gettid();
  std::atomic<bool> joining{false};
  size_t before = 0, after = 0;
  std::thread worker([&] {
    while (!joining.load()) sched_yield();
    while (!sleeping(main_tid)) usleep(1000);
    before = resident_bytes();
    for (void* p : mine) free(p);
    for (void*& p : theirs) {
      p = malloc(kSize);
      memset(p, 0xa5, kSize);
    }
    after = resident_bytes();
  });
  joining.store(true);
  worker.join();
  EXPECT_LE(after, before + (size_t{4} << 20)) << "before " << before;
  for (void* p : theirs) free(p);
}

// Empty pages that no heap holds stay resident for reuse only for a while: a thread that frees
// 32 MiB of small blocks and exits leaves them to be reused; a second later, the next request for a
// page gives them back to the system, and malloc_trim gives back what is left at once.
TEST(Watson2, EmptyPagesGoBackASecondLater) {
  if (!watson2()) GTEST_SKIP() << "runs under MALLOCTYPE=watson2";
  constexpr size_t kBlocks = 8192, kSize = 4000;
  auto churn = [](size_t blocks, size_t size) {
    std::vector<void*> v;
    for (size_t i = 0; i < blocks; ++i) {
      v.push_back(malloc(size));
      memset(v.back(), 0x5a, size);
    }
    for (void* p : v) free(p);
  };
  malloc_trim(0);
  size_t start = resident_bytes();
  std::thread(churn, kBlocks, kSize).join();
  usleep(1'100'000);
  // Any page taken makes the clock tick: here a thread's 16 KiB of 64-byte blocks, more than the
  // first slices of its class in its heap's mixed page.
  std::thread(churn, 256, 64).join();
  size_t later = resident_bytes();
  EXPECT_LE(later, start + (size_t{4} << 20)) << "start " << start;
  std::thread(churn, kBlocks, kSize).join();
  malloc_trim(0);
  EXPECT_LE(resident_bytes(), start + (size_t{4} << 20)) << "start " << start;
}

// The heap of large blocks and the pages of small ones cannot use each other's free memory, so
// neither keeps its own while the other grows. 16 MiB of large blocks freed (kept by the heap's
// reserve) and left alone for a moment, then 16 MiB of small blocks: the process holds about
// 16 MiB, not 32. The small blocks freed (their pages kept), then 32 MiB of large blocks: about
// 32 MiB, not 48.
TEST(Watson2, TheHeapAndThePagesGiveBackWhatTheOtherNeeds) {
  if (!watson2()) GTEST_SKIP() << "runs under MALLOCTYPE=watson2";
  constexpr size_t kMiB = size_t{1} << 20, kLarge = 256 << 10, kSmall = 1000;
  auto take = [](std::vector<void*>& v, size_t size, size_t bytes) {
    for (size_t got = 0; got < bytes; got += size) {
      v.push_back(malloc(size));
      ASSERT_NE(v.back(), nullptr);
      memset(v.back(), 0x5a, size);
    }
  };
  auto give = [](std::vector<void*>& v) {
    for (void* p : v) free(p);
    v.clear();
  };
  malloc_trim(0);
  size_t start = resident_bytes();
  std::vector<void*> large, small;
  take(large, kLarge, 16 * kMiB);
  give(large);
  usleep(50'000);  // memory freed a moment ago may be a loop's, taken again at once: it is kept
  take(small, kSmall, 16 * kMiB);
  EXPECT_LE(resident_bytes(), start + 20 * kMiB) << "start " << start;
  give(small);
  take(large, kLarge, 32 * kMiB);
  EXPECT_LE(resident_bytes(), start + 36 * kMiB) << "start " << start;
  give(large);
  EXPECT_EQ(aixmalloc_check(), 0);
}

// The heap gives back about as much as the pages take, not all it keeps: what it keeps beyond is
// still there for its own next large blocks (sqlite3 faulted its sorter's 1.5 MiB in again at once
// when the first fresh page took it all). 4 MiB of large blocks freed and kept a moment, then 1 MiB
// of small blocks on fresh pages: 0.5-1.75 MiB of the large blocks' pages have gone back.
TEST(Watson2, TheHeapGivesBackAsMuchAsThePagesTake) {
  if (!watson2()) GTEST_SKIP() << "runs under MALLOCTYPE=watson2";
  constexpr size_t kMiB = size_t{1} << 20, kLarge = 256 << 10, kSmall = 1000;
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  std::vector<void*> large, small;
  for (size_t got = 0; got < 4 * kMiB; got += kLarge) {
    large.push_back(malloc(kLarge));
    ASSERT_NE(large.back(), nullptr);
    memset(large.back(), 0x44, kLarge);
  }
  auto resident = [&] {  // of the whole pages inside the large blocks
    size_t sum = 0;
    for (void* p : large) {
      uintptr_t lo = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
      uintptr_t hi = (reinterpret_cast<uintptr_t>(p) + kLarge) & ~(page - 1);
      sum += aixmalloc::os::resident_bytes(lo, hi - lo);
    }
    return sum;
  };
  size_t before = resident();
  EXPECT_GE(before, 4 * kMiB - large.size() * page);
  for (void* p : large) free(p);
  usleep(50'000);  // kept a while: no longer a loop's buffers, so the heap gives back
  for (size_t got = 0; got < kMiB; got += kSmall) {
    small.push_back(malloc(kSmall));
    ASSERT_NE(small.back(), nullptr);
    memset(small.back(), 0x5a, kSmall);
  }
  size_t given = before - resident();
  EXPECT_GE(given, kMiB / 2) << "the heap kept its freed memory while the pages grew by 1 MiB";
  EXPECT_LE(given, kMiB + 3 * kMiB / 4) << "the heap gave back more than the pages took";
  for (void* p : small) free(p);
  EXPECT_EQ(aixmalloc_check(), 0);
}

// What the pages give back as the heap grows was resident a moment before: the heap's growth takes
// as much with one madvise(MADV_POPULATE_WRITE) instead of a page fault a page (reclaim.h's
// Handover). Small blocks freed (their pages kept), then a 2 MiB block: the heap's growth is
// resident before the program touches it, and the process is no larger than before. The other way
// round, the pages' fresh memory is not populated (a class may never fill a page): after large
// blocks freed and kept by the heap, a fresh page of small blocks has only its first blocks
// resident.
TEST(Watson2, WhatThePagesGiveBackTheHeapTakesPopulated) {
  if (!watson2()) GTEST_SKIP() << "runs under MALLOCTYPE=watson2";
  constexpr size_t kMiB = size_t{1} << 20, kSmall = 1000;
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  auto resident_part = [page](const void* p, size_t size) {  // of the pages that [p, p + size) spans
    uintptr_t lo = reinterpret_cast<uintptr_t>(p) & ~(page - 1);
    uintptr_t hi = (reinterpret_cast<uintptr_t>(p) + size + page - 1) & ~(page - 1);
    return static_cast<double>(aixmalloc::os::resident_bytes(lo, hi - lo)) / static_cast<double>(hi - lo);
  };
  malloc_trim(0);
  std::vector<void*> small;
  for (size_t got = 0; got < 8 * kMiB; got += kSmall) {
    small.push_back(malloc(kSmall));
    ASSERT_NE(small.back(), nullptr);
    memset(small.back(), 0x5a, kSmall);
  }
  for (void* p : small) free(p);
  small.clear();
  size_t before = resident_bytes();
  void* big = malloc(2 * kMiB);
  ASSERT_NE(big, nullptr);
  EXPECT_GE(resident_part(big, 2 * kMiB), 0.9) << "the growth after the pages' give-back";
  EXPECT_LE(resident_bytes(), before + kMiB / 2) << "before " << before;
  memset(big, 0x33, 2 * kMiB);
  free(big);

  std::vector<void*> large;
  for (int i = 0; i < 64; ++i) {
    large.push_back(malloc(256 << 10));
    ASSERT_NE(large.back(), nullptr);
    memset(large.back(), 0x44, 256 << 10);
  }
  for (void* p : large) free(p);
  usleep(50'000);  // kept a while: no longer a loop's buffers, so the heap gives them back
  double fresh_page = -1;
  for (size_t got = 0; got < 8 * kMiB && fresh_page < 0; got += kSmall) {
    small.push_back(malloc(kSmall));
    ASSERT_NE(small.back(), nullptr);
    if ((reinterpret_cast<uintptr_t>(small.back()) & 0xffff) == 0) fresh_page = resident_part(small.back(), 0x10000);
  }
  EXPECT_GT(fresh_page, 0.0) << "no block at the start of a page of 64 KiB, or none of it resident";
  EXPECT_LE(fresh_page, 0.5) << "a fresh page of small blocks was made resident whole";
  for (void* p : small) free(p);
  EXPECT_EQ(aixmalloc_check(), 0);
}

// A class with many blocks out has the memory ahead of the blocks it hands out made resident
// with one call (madvise(MADV_POPULATE_WRITE)), not faulted in a system page at a time: with 1 MiB
// of 256-byte blocks out, once the blocks handed out of a fresh page reach its second system page,
// its first 16 KiB are resident, while its second half, which no block has reached, is not.
TEST(Watson2, AClassWithManyBlocksOutHasTheMemoryAheadMadeResident) {
  if (!watson2()) GTEST_SKIP() << "runs under MALLOCTYPE=watson2";
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  if (page != 4096) GTEST_SKIP() << "system pages of " << page << " bytes: a watson2 page holds few";
  constexpr size_t kBlock = 256, kMiB = size_t{1} << 20;
  auto resident = [](uintptr_t lo, size_t size) { return aixmalloc::os::resident_bytes(lo, size); };
  std::vector<void*> blocks;
  uintptr_t fresh = 0;
  bool checked = false;
  for (size_t got = 0; got < 8 * kMiB && !checked; got += kBlock) {
    blocks.push_back(malloc(kBlock));
    ASSERT_NE(blocks.back(), nullptr);
    if (got < kMiB) continue;
    uintptr_t at = reinterpret_cast<uintptr_t>(blocks.back());
    // A page whose first block this is, with nothing resident in its second half.
    if ((at & 0xffff) == 0 && resident(at + 0x8000, 0x8000) == 0) fresh = at;
    if (fresh != 0 && at == fresh + page) {
      EXPECT_EQ(resident(fresh, 16384), 16384u) << "the memory ahead of the blocks handed out";
      EXPECT_EQ(resident(fresh + 0x8000, 0x8000), 0u) << "the half of the page no block has reached";
      checked = true;
    }
  }
  EXPECT_TRUE(checked) << "no fresh page of 64 KiB among 8 MiB of blocks";
  for (void* p : blocks) free(p);
  EXPECT_EQ(aixmalloc_check(), 0);
}

// realloc keeps a block in place while it holds the new size and at most half of it goes unused;
// shrunk below half, the block moves to a smaller class, its bytes with it. (Kept in place, ruby's
// strings trimmed after building held 1.1 MiB more at the program's peak: 9.8 against 8.9 MiB.)
TEST(Watson2, ReallocBelowHalfTheBlockMovesToASmallerOne) {
  if (!watson2()) GTEST_SKIP() << "runs under MALLOCTYPE=watson2";
  void* p = malloc(8000);
  ASSERT_NE(p, nullptr);
  size_t usable = malloc_usable_size(p);
  ASSERT_GE(usable, 8000u);
  fill(p, 8000, 7);
  void* q = realloc(p, usable / 2 + 16);
  EXPECT_EQ(q, p) << "more than half of the block used: in place";
  void* r = realloc(q, 1000);
  ASSERT_NE(r, nullptr);
  EXPECT_NE(r, q) << "less than half of the block used: a smaller block";
  EXPECT_GE(malloc_usable_size(r), 1000u);
  EXPECT_LT(malloc_usable_size(r), usable / 2);
  EXPECT_TRUE(intact(r, 1000, 7));
  void* s = realloc(r, malloc_usable_size(r));
  EXPECT_EQ(s, r) << "grown within its block: in place";
  EXPECT_TRUE(intact(s, 1000, 7));
  free(s);
  EXPECT_EQ(aixmalloc_check(), 0);
}

// The statistics have a section for watson2's small blocks, which follows the program's.
TEST(Watson2, StatisticsDescribeTheSmallBlocks) {
  if (!watson2()) GTEST_SKIP() << "runs under MALLOCTYPE=watson2";
  struct mallinfo2 before = mallinfo2();
  std::vector<void*> blocks;
  for (int i = 0; i < 1000; ++i) blocks.push_back(malloc(1000));
  struct mallinfo2 during = mallinfo2();
  EXPECT_GE(during.uordblks - before.uordblks, 1000u * 1000);
  for (void* p : blocks) free(p);
  EXPECT_EQ(aixmalloc_check(), 0);
}

}  // namespace
