// Yorktown's own placement rules, as AIX's: lowest address that fits (not best fit), split with the
// runt going back, immediate coalescing on both sides, AIX realloc. check() after every step.
#include "policies/yorktown.h"

#include "tests/unit/harness.h"

namespace aixmalloc::testing {
namespace {

using H = PolicyHarness<Yorktown>;

// A block whose size word was overwritten reaches into a free block: the free stops the process.
TEST(YorktownDeathTest, FreeOfABlockGrownOverAFreeOne) {
  H h;
  EXPECT_DEATH(overflow_into_a_free_block(h, 1000),
               "^aixmalloc: heap corruption detected in the Yorktown heap: a block overlaps a free "
               "block at 0x[0-9a-f]+\n");
}

TEST(YorktownDeathTest, ReallocOfABlockGrownOverAFreeOne) {
  H h;
  EXPECT_DEATH(overflow_into_a_free_block(h, 1000, /*grow=*/true),
               "^aixmalloc: heap corruption detected in the Yorktown heap: a block overlaps a free "
               "block at 0x[0-9a-f]+\n");
}

TEST(Yorktown, LowestAddressWinsOverBestFit) {
  H h;
  void* big = h.alloc(1000);
  void* sep1 = h.alloc(16);
  void* exact = h.alloc(96);
  void* sep2 = h.alloc(16);
  ASSERT_TRUE(h.valid());
  h.release(big);
  h.release(exact);
  ASSERT_TRUE(h.valid());
  // `exact` is the best fit for 96 bytes; Yorktown takes the lower, larger block instead.
  void* p = h.alloc(96);
  EXPECT_EQ(p, big);
  EXPECT_TRUE(h.valid());
  // The runt of the split stays where it was and is the next lowest fit.
  void* q = h.alloc(96);
  EXPECT_EQ(static_cast<char*>(q), static_cast<char*>(big) + 112);
  EXPECT_TRUE(h.valid());
  h.release(p), h.release(q), h.release(sep1), h.release(sep2);
  EXPECT_TRUE(h.valid());
}

TEST(Yorktown, SplitReturnsTheRunt) {
  H h;
  void* a = h.alloc(4000);
  void* sep = h.alloc(16);
  h.release(a);
  size_t blocks = h.policy.free_blocks();
  size_t free_before = h.policy.free_bytes();
  void* p = h.alloc(100);  // a 128-byte block carved from the 4016-byte hole
  EXPECT_EQ(p, a);
  EXPECT_EQ(h.policy.free_blocks(), blocks);  // the runt replaces the hole
  EXPECT_EQ(h.policy.free_bytes(), free_before - 128);
  EXPECT_EQ(h.policy.usable_size(p), 112u);
  EXPECT_TRUE(h.valid());
  h.release(p), h.release(sep);
  EXPECT_TRUE(h.valid());
}

TEST(Yorktown, FreeMergesWithBothNeighbours) {
  H h;
  void* a = h.alloc(100);
  void* b = h.alloc(200);
  void* c = h.alloc(300);
  void* sep = h.alloc(16);
  size_t base_blocks = h.policy.free_blocks();
  h.release(a);
  h.release(c);
  EXPECT_EQ(h.policy.free_blocks(), base_blocks + 2);
  ASSERT_TRUE(h.valid());
  h.release(b);  // joins a and c into one block
  EXPECT_EQ(h.policy.free_blocks(), base_blocks + 1);
  ASSERT_TRUE(h.valid());
  void* whole = h.alloc(100 + 200 + 300 + 2 * 16);
  EXPECT_EQ(whole, a);
  EXPECT_TRUE(h.valid());
  h.release(whole), h.release(sep);
  EXPECT_TRUE(h.valid());
}

TEST(Yorktown, ReallocGrowsInPlaceIntoAFreeSuccessor) {
  H h;
  void* a = h.alloc(64);
  void* b = h.alloc(256);
  void* sep = h.alloc(16);
  fill(a, 64, 1);
  h.release(b);
  void* r = h.policy.reallocate(a, 300);
  EXPECT_EQ(r, a);
  EXPECT_EQ(first_mismatch(r, 64, 1), 64u);
  EXPECT_GE(h.policy.usable_size(r), 300u);
  EXPECT_TRUE(h.valid());
  h.release(r), h.release(sep);
}

TEST(Yorktown, ReallocShrinksInPlaceAndReturnsTheTail) {
  H h;
  void* a = h.alloc(1000);
  void* sep = h.alloc(16);
  fill(a, 1000, 2);
  size_t free_before = h.policy.free_bytes();
  void* r = h.policy.reallocate(a, 100);
  EXPECT_EQ(r, a);
  EXPECT_EQ(first_mismatch(r, 100, 2), 100u);
  EXPECT_EQ(h.policy.free_bytes(), free_before + 1024 - 128);
  EXPECT_TRUE(h.valid());
  h.release(r), h.release(sep);
}

TEST(Yorktown, ReallocMovesDownIntoTheCoalescedBlock) {
  // AIX: the old block is freed first (merging with its free lower neighbour) and the lowest fit is
  // taken, which is that merged block: the data slides down, overlapping its old place.
  H h;
  void* x = h.alloc(64);
  void* a = h.alloc(64);
  void* sep = h.alloc(16);
  fill(a, 64, 3);
  h.release(x);
  void* r = h.policy.reallocate(a, 100);
  EXPECT_EQ(r, x);
  EXPECT_EQ(first_mismatch(r, 64, 3), 64u);
  EXPECT_TRUE(h.valid());
  h.release(r), h.release(sep);
  EXPECT_TRUE(h.valid());
}

TEST(Yorktown, ReallocMovesToALowerHoleWhenOneFits) {
  H h;
  void* hole = h.alloc(1000);
  void* sep1 = h.alloc(16);
  void* a = h.alloc(64);
  void* sep2 = h.alloc(16);
  h.release(hole);
  fill(a, 64, 4);
  void* r = h.policy.reallocate(a, 500);
  EXPECT_EQ(r, hole);
  EXPECT_EQ(first_mismatch(r, 64, 4), 64u);
  EXPECT_TRUE(h.valid());
  h.release(r), h.release(sep1), h.release(sep2);
  EXPECT_TRUE(h.valid());
}

TEST(Yorktown, EveryAlignmentFrom16BytesTo64KiB) {
  H h;
  std::vector<void*> live;
  for (size_t align = 16; align <= 65536; align *= 2) {
    for (size_t size : {1ul, 24ul, 100ul, 4096ul, 70000ul}) {
      void* p = h.alloc(size, align);
      ASSERT_NE(p, nullptr);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % align, 0u) << "align " << align;
      EXPECT_GE(h.policy.usable_size(p), size);
      fill(p, size, align + size);
      ASSERT_TRUE(h.valid()) << "align " << align << " size " << size;
      live.push_back(p);
    }
  }
  for (void* p : live) {
    h.release(p);
    ASSERT_TRUE(h.valid());
  }
}

TEST(Yorktown, DoubleFreeAndInteriorPointersAreRecognised) {
  H h;
  void* a = h.alloc(100);
  void* sep = h.alloc(16);
  EXPECT_EQ(h.policy.state(a), BlockState::kInUse);
  EXPECT_EQ(h.policy.state(static_cast<char*>(a) + 16), BlockState::kNotABlock);
  EXPECT_EQ(h.policy.state(static_cast<char*>(a) + 1), BlockState::kNotABlock);
  h.release(a);
  EXPECT_EQ(h.policy.state(a), BlockState::kFree);
  h.release(sep);
}

TEST(Yorktown, GrowsAcrossSegmentsWhenAReservationIsFull) {
  HeapMemory::set_reserve_size_for_testing(4 << 20);
  {
    H h;
    std::vector<void*> live;
    for (int i = 0; i < 40; ++i) {
      void* p = h.alloc(512 * 1024);
      ASSERT_NE(p, nullptr);
      fill(p, 512 * 1024, i);
      live.push_back(p);
    }
    EXPECT_TRUE(h.valid());
    int segments = 0;
    for (const Segment* s = h.memory.segments(); s; s = s->next) ++segments;
    EXPECT_GT(segments, 1);
    for (size_t i = 0; i < live.size(); ++i) {
      EXPECT_EQ(first_mismatch(live[i], 512 * 1024, i), 512u * 1024);
      h.release(live[i]);
    }
    EXPECT_TRUE(h.valid());
  }
  HeapMemory::set_reserve_size_for_testing(0);
}

TEST(Yorktown, DisclaimKeepsFreeBlocksUsable) {
  H h;
  void* a = h.alloc(1 << 20);
  void* sep = h.alloc(16);
  fill(a, 1 << 20, 5);
  h.release(a);
  EXPECT_GE(h.policy.disclaim_free(), size_t{1 << 20} - 2 * 4096);
  EXPECT_TRUE(h.valid());
  void* b = h.alloc(1 << 20);
  EXPECT_EQ(b, a);
  fill(b, 1 << 20, 6);
  EXPECT_EQ(first_mismatch(b, 1 << 20, 6), size_t{1} << 20);
  h.release(b), h.release(sep);
  EXPECT_TRUE(h.valid());
}

}  // namespace
}  // namespace aixmalloc::testing
