// MALLOCOPTIONS=pool through the exported malloc: the lock-free fast path, pages that change class
// once empty, the max_size cap, and a free into a page that waits for reuse. These tests run in the
// runtime's executable under every configuration and act where the pool is on.
#include <malloc.h>
#include <stdlib.h>

#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "libmalloc/aixmalloc.h"
#include "options/pool.h"
#include "tests/unit/runtime_harness.h"

namespace {

using aixmalloc::testing::configured;
using aixmalloc::testing::launder;

// MALLOCOPTIONS=pool: once warm, malloc and free of 512 bytes or less take no lock at all.
TEST(Pool, FastPathTakesNoLock) {
  if (!configured("pool") || configured("pool:"))
    GTEST_SKIP() << "runs under MALLOCOPTIONS=pool without max_size (a capped pool falls through)";
  std::vector<void*> warm;
  for (size_t size = 0; size <= 512; ++size) warm.push_back(malloc(size));
  for (void* p : warm) free(p);
  struct mallinfo2 heaps_before = mallinfo2();
  unsigned long locks = aixmalloc_thread_lock_count();
  uint64_t sum = 0;
  for (int i = 0; i < 1000000; ++i) {
    auto* p = static_cast<uint64_t*>(malloc(8 + static_cast<size_t>(i * 7) % 505));
    *p = static_cast<uint64_t>(i);
    sum += *p;
    free(p);
  }
  EXPECT_EQ(aixmalloc_thread_lock_count(), locks);
  EXPECT_EQ(mallinfo2().uordblks, heaps_before.uordblks);  // no heap saw any of it
  EXPECT_EQ(sum, 499999500000u);
}

// Pool pages are not tied to a class for life: once a phase's blocks are all freed, the next
// phase's class reuses their pages instead of growing the pool (a sweep of the thread's free lists
// finds the empty pages).
TEST(Pool, PagesServeAnotherClassOnceEmpty) {
  if (!configured("pool") || configured("pool:"))
    GTEST_SKIP() << "runs under MALLOCOPTIONS=pool without max_size";
  namespace pool = aixmalloc::pool;
  constexpr int kSmall = 200000, kLarger = 50000;  // 32 B: ~98 pages; 200 B (class 224): ~171
  std::thread([] {
    std::vector<void*> blocks;
    for (int i = 0; i < kSmall; ++i) blocks.push_back(malloc(32));
    for (void* p : blocks) free(p);
    blocks.clear();
    aixmalloc::PoolFigures mid;
    aixmalloc::PoolClassFigures mid_classes[pool::kClasses];
    pool::totals(&mid, mid_classes);
    for (int i = 0; i < kLarger; ++i) {
      auto* p = static_cast<uint64_t*>(malloc(200));
      for (int w = 0; w < 25; ++w) p[w] = static_cast<uint64_t>(i) * 25 + static_cast<uint64_t>(w);
      blocks.push_back(p);
    }
    aixmalloc::PoolFigures after;
    aixmalloc::PoolClassFigures after_classes[pool::kClasses];
    pool::totals(&after, after_classes);
    EXPECT_GE(after.pages_recycled - mid.pages_recycled, 90u) << "the emptied 32-byte pages were not reused";
    EXPECT_LE(after.bytes_reserved - mid.bytes_reserved, (171u - 90u) * pool::kPageSize)
        << "the pool grew as if no page had been freed";
    int bad = 0;
    for (int i = 0; i < kLarger; ++i) {
      auto* p = static_cast<uint64_t*>(blocks[static_cast<size_t>(i)]);
      for (int w = 0; w < 25; ++w) bad += p[w] != static_cast<uint64_t>(i) * 25 + static_cast<uint64_t>(w);
      free(p);
    }
    EXPECT_EQ(bad, 0);
  }).join();
  EXPECT_EQ(aixmalloc_check(), 0);
}

// The pool's area starts with 4 MiB reserved and extends its reservation in place as its pages are
// used (aixmalloc(7), "Address space"): 32 MiB of small blocks are all pool blocks, one range, and
// every page is usable.
TEST(Pool, AreaGrowsPastItsFirstReservation) {
  if (!configured("pool") || configured("pool:"))
    GTEST_SKIP() << "runs under MALLOCOPTIONS=pool without max_size";
  namespace pool = aixmalloc::pool;
  std::thread([] {
    constexpr int kBlocks = (32 << 20) / 256;
    std::vector<void*> blocks;
    blocks.reserve(kBlocks);
    int outside = 0;
    for (int i = 0; i < kBlocks; ++i) {
      auto* p = static_cast<unsigned char*>(malloc(256));
      ASSERT_NE(p, nullptr);
      p[0] = p[255] = static_cast<unsigned char>(i);
      outside += !pool::owns(p);
      blocks.push_back(p);
    }
    EXPECT_EQ(outside, 0) << "small blocks served elsewhere: the pool's area stopped growing";
    int bad = 0;
    for (int i = 0; i < kBlocks; ++i) {
      auto* p = static_cast<unsigned char*>(blocks[static_cast<size_t>(i)]);
      bad += p[0] != static_cast<unsigned char>(i) || p[255] != static_cast<unsigned char>(i);
      free(p);
    }
    EXPECT_EQ(bad, 0);
  }).join();
  EXPECT_EQ(aixmalloc_check(), 0);
}

// pool:max_size caps the pool; past it, small requests are served by the heaps. A 130-byte request
// tells them apart: a pool block has its class's 160 bytes, a heap block 144 (Yorktown, 16-byte
// prefix, 16-byte rounding).
TEST(Pool, MaxSizeFallsThroughToTheHeaps) {
  if (!configured("pool:")) GTEST_SKIP() << "runs under MALLOCOPTIONS=pool:<max_size>";
  size_t before = mallinfo2().uordblks;
  std::vector<void*> blocks;
  for (int i = 0; i < 20000; ++i) blocks.push_back(malloc(130));
  EXPECT_EQ(malloc_usable_size(blocks.front()), 160u) << "the pool served nothing";
  EXPECT_EQ(malloc_usable_size(blocks.back()), 144u) << "the pool kept serving past max_size";
  EXPECT_GT(mallinfo2().uordblks, before + 1000000);
  // Once the pool is full, a small malloc goes straight to a heap: its lock and no other. (The
  // heap first gets room for them, so that none of the 1000 has to grow it, which takes the
  // address map's lock too.)
  std::vector<void*> room;
  for (int i = 0; i < 1000; ++i) room.push_back(malloc(130));
  for (void* p : room) free(p);
  unsigned long locks = aixmalloc_thread_lock_count();
  for (int i = 0; i < 1000; ++i) blocks.push_back(malloc(130));
  EXPECT_EQ(aixmalloc_thread_lock_count() - locks, 1000u) << "lock acquisitions for 1000 mallocs";
  for (void* p : blocks) free(p);
  EXPECT_EQ(aixmalloc_check(), 0);
}

// A pointer into a pool page that emptied and now waits for reuse is not a block any more: its
// free is reported, and the page's record is not touched.
TEST(PoolDeathTest, FreeIntoASparePage) {
  if (!configured("pool") || configured("pool:"))
    GTEST_SKIP() << "runs under MALLOCOPTIONS=pool without max_size";
  EXPECT_DEATH(
      {
        std::vector<void*> blocks;
        for (int i = 0; i < 200000; ++i) blocks.push_back(malloc(32));
        for (void* p : blocks) free(p);
        std::vector<void*> others;  // new pages for another class: the first sweeps the emptied
        for (int i = 0; i < 600; ++i) others.push_back(malloc(200));
        free(launder(blocks.back()));  // its page, collected first, is the last spare taken
      },
      "^aixmalloc: free\\(\\): invalid pointer 0x[0-9a-f]+: not the start of an allocated block\n");
}

// Pointers that are not block starts never reach the free lists, wherever they point in a block
// page: the page's header (16-byte aligned, so a 16-byte class's arithmetic alone would take it
// for a block before the first) and the inside of a block.
TEST(PoolDeathTest, FreeOfThePageHeaderOrInsideABlock) {
  if (!configured("pool") || configured("pool:"))
    GTEST_SKIP() << "runs under MALLOCOPTIONS=pool without max_size";
  const char* kReport = "^aixmalloc: free\\(\\): invalid pointer 0x[0-9a-f]+: not the start of an allocated block\n";
  EXPECT_DEATH(
      {
        auto* p = static_cast<char*>(malloc(16));
        char* page = reinterpret_cast<char*>(reinterpret_cast<uintptr_t>(p) & ~(aixmalloc::pool::kPageSize - 1));
        free(launder(page + aixmalloc::pool::PoolPage::kHeader - 16));
      },
      kReport);
  EXPECT_DEATH(
      {
        auto* p = static_cast<char*>(malloc(48));
        free(launder(p + 16));
      },
      kReport);
}

}  // namespace
