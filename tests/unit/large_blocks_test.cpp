// Large blocks (libmalloc/base/large_blocks.h) through the exported malloc: a freed range serves the
// next large request, calloc still returns zeros, and misuse of a large block is reported. Runs in
// the runtime's executable under every configuration: large blocks are the same under all of them.
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <gtest/gtest.h>

#include "libmalloc/aixmalloc.h"
#include "libmalloc/base/large_blocks.h"
#include "tests/unit/runtime_harness.h"

namespace {

namespace large = aixmalloc::large;
using aixmalloc::testing::launder;

// A freed large block's range is kept for the next large request (no fresh page faults), which
// gets it trimmed or grown; calloc still returns zeroes from a reused range; malloc_trim() gives
// the cached ranges back.
TEST(LargeBlocks, RangesAreReusedAndCallocStillZeroes) {
  malloc_trim(0);
  EXPECT_EQ(large::totals().cached_bytes, 0u) << "malloc_trim kept a cached range";
  constexpr size_t kBig = 8 << 20, kSmaller = 6 << 20, kBigger = 12 << 20;
  auto* a = static_cast<unsigned char*>(malloc(kBig));
  ASSERT_NE(a, nullptr);
  memset(a, 0xab, kBig);
  free(a);
  EXPECT_GE(large::totals().cached_bytes, kBig) << "the freed range was not kept";
  uint64_t hits = large::totals().cache_hits;
  auto* b = static_cast<unsigned char*>(calloc(1, kSmaller));  // the cached range, trimmed
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(large::totals().cache_hits, hits + 1) << "the freed range was not reused";
  EXPECT_EQ(b, a);
  size_t nonzero = 0;
  for (size_t i = 0; i < kSmaller; ++i) nonzero += b[i] != 0;
  EXPECT_EQ(nonzero, 0u) << "calloc returned a reused range without clearing it";
  memset(b, 0xcd, kSmaller);
  free(b);
  auto* c = static_cast<unsigned char*>(calloc(1, kBigger));  // the cached range, grown
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(large::totals().cache_hits, hits + 2) << "the smaller cached range was not grown";
  nonzero = 0;
  for (size_t i = 0; i < kBigger; ++i) nonzero += c[i] != 0;
  EXPECT_EQ(nonzero, 0u);
  free(c);
  EXPECT_GT(large::totals().cached_bytes, 0u);
  EXPECT_EQ(malloc_trim(0), 1);
  EXPECT_EQ(large::totals().cached_bytes, 0u) << "malloc_trim kept a cached range";
  EXPECT_EQ(aixmalloc_check(), 0);
}

TEST(LargeBlocksDeathTest, FreeInsideALargeBlock) {
  EXPECT_DEATH(
      {
        char* p = static_cast<char*>(malloc(8 << 20));
        free(launder(p + 4096));
      },
      "^aixmalloc: free\\(\\): invalid pointer 0x[0-9a-f]+: not the start of an allocated block\n");
}

TEST(LargeBlocksDeathTest, DoubleFreeOfALargeBlock) {
  EXPECT_DEATH(
      {
        void* p = malloc(8 << 20);
        free(p);
        free(launder(p));
      },
      "^aixmalloc: free\\(\\): double free of 0x[0-9a-f]+\n");
}

}  // namespace
