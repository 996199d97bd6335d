// Watson's own rules, as AIX's: best fit by size, the tail of the chosen block to the caller, the
// built-in size classes for requests up to 512 bytes, merging on free. check() after every step.
#include <sys/mman.h>
#include <unistd.h>

#include "policies/watson.h"

#include "tests/unit/harness.h"

namespace aixmalloc::testing {
namespace {

// A heap that has grown once and holds what it took as one free block, as a program's heap does
// once its first blocks have come and gone: the rules below are about carving such a block. (The
// heap gives the policy only what a request lacks, so a fresh one has no free block at all.)
struct H : PolicyHarness<Watson> {
  H() { release(alloc(60000)); }
};

// A block whose size word was overwritten reaches into a free block: the free stops the process.
// (1000 bytes: a small block would wait on its class list and be merged only later.)
TEST(WatsonDeathTest, FreeOfABlockGrownOverAFreeOne) {
  H h;
  EXPECT_DEATH(overflow_into_a_free_block(h, 1000),
               "^aixmalloc: heap corruption detected in the watson heap: a block overlaps a free "
               "block at 0x[0-9a-f]+\n");
}

TEST(WatsonDeathTest, ReallocOfABlockGrownOverAFreeOne) {
  H h;
  EXPECT_DEATH(overflow_into_a_free_block(h, 1000, /*grow=*/true),
               "^aixmalloc: heap corruption detected in the watson heap: a block overlaps a free "
               "block at 0x[0-9a-f]+\n");
}

TEST(Watson, BestFitTakesTheSmallestBlockThatFits) {
  H h;
  void* big = h.alloc(4000);
  void* sep1 = h.alloc(1000);
  void* snug = h.alloc(1200);
  void* sep2 = h.alloc(1000);
  h.release(big);
  h.release(snug);
  ASSERT_TRUE(h.valid());
  // Yorktown would take the lower, larger hole; Watson takes the smallest one that fits, and since
  // 1200 bytes fit it exactly, the whole block.
  void* p = h.alloc(1200);
  EXPECT_EQ(p, snug);
  EXPECT_TRUE(h.valid());
  h.release(p), h.release(sep1), h.release(sep2);
  EXPECT_TRUE(h.valid());
}

TEST(Watson, CarvesTheTailAndTheRemainderKeepsItsAddress) {
  H h;
  void* hole = h.alloc(8000);
  void* sep = h.alloc(1000);
  h.release(hole);
  size_t blocks = h.policy.free_blocks();
  void* p = h.alloc(1000);  // a 1024-byte block from the end of the 8016-byte hole
  auto* hole_block = static_cast<char*>(hole) - kHeaderSize;
  EXPECT_EQ(static_cast<char*>(p) - kHeaderSize, hole_block + 8016 - 1024);
  EXPECT_EQ(h.policy.free_blocks(), blocks);
  void* q = h.alloc(1000);  // the next tail, right below
  EXPECT_EQ(static_cast<char*>(q) - kHeaderSize, hole_block + 8016 - 2048);
  EXPECT_TRUE(h.valid());
  h.release(p), h.release(q), h.release(sep);
  EXPECT_TRUE(h.valid());
}

// A hole taken all but a few bytes comes back whole when its block is freed: the leftover, too
// small for the trees, stays inside the block instead of cutting the hole in two for good.
TEST(Watson, ALeftoverTooSmallForTheTreesComesBackWithItsBlock) {
  H h;
  void* hole = h.alloc(8000);  // an 8016-byte block
  void* sep = h.alloc(1000);
  h.release(hole);
  const size_t blocks = h.policy.free_blocks(), bytes = h.policy.free_bytes();
  void* p = h.alloc(8000 - 48);  // a 7968-byte block would leave 48 bytes of the hole
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p, hole) << "the whole hole, leftover included";
  EXPECT_GE(h.policy.usable_size(p), 8000u);
  h.release(p);
  EXPECT_EQ(h.policy.free_blocks(), blocks);
  EXPECT_EQ(h.policy.free_bytes(), bytes);
  void* again = h.alloc(8000);
  EXPECT_EQ(again, hole);
  EXPECT_TRUE(h.valid());
  h.release(again), h.release(sep);
  EXPECT_TRUE(h.valid());
}

// The same for the tail a shrinking realloc cannot give back as a tree block of its own.
TEST(Watson, ReallocKeepsATailTooSmallForTheTrees) {
  H h;
  void* p = h.alloc(2000);  // a 2016-byte block
  void* sep = h.alloc(1000);
  const size_t blocks = h.policy.free_blocks();
  EXPECT_EQ(h.policy.reallocate(p, 2000 - 48), p);
  EXPECT_EQ(h.policy.free_blocks(), blocks) << "no 48-byte piece set apart";
  EXPECT_GE(h.policy.usable_size(p), 2000u);
  EXPECT_TRUE(h.valid());
  h.release(p), h.release(sep);
  EXPECT_TRUE(h.valid());
}

TEST(Watson, SmallRequestsUseTheBuiltInClasses) {
  // 16-byte steps to 256 (AIX's 4- and 8-byte steps below 128 cannot differ in a 16-byte-aligned
  // block), 32-byte steps to 512, as AIX's from 257; a class is the usable size of its blocks.
  EXPECT_EQ(Watson::small_class(0), 16u);
  EXPECT_EQ(Watson::small_class(1), 16u);
  EXPECT_EQ(Watson::small_class(17), 32u);
  EXPECT_EQ(Watson::small_class(33), 48u);
  EXPECT_EQ(Watson::small_class(129), 144u);
  EXPECT_EQ(Watson::small_class(144), 144u);
  EXPECT_EQ(Watson::small_class(256), 256u);
  EXPECT_EQ(Watson::small_class(257), 288u);
  EXPECT_EQ(Watson::small_class(512), 512u);
  H h;
  for (size_t n = 0; n <= Watson::kSmallMax; ++n) {
    void* p = h.alloc(n);
    ASSERT_NE(p, nullptr);
    EXPECT_GE(h.policy.usable_size(p), Watson::small_class(n));
    EXPECT_LT(h.policy.usable_size(p), Watson::small_class(n) + kAlignment);
    h.release(p);
  }
  EXPECT_TRUE(h.valid());
}

TEST(Watson, AFreedSmallBlockServesTheNextRequestOfItsClass) {
  H h;
  void* a = h.alloc(100);
  void* b = h.alloc(300);
  h.release(a);
  EXPECT_EQ(h.alloc(97), a);  // same class (112): LIFO reuse from the class list
  h.release(b);
  EXPECT_EQ(h.alloc(289), b);
  EXPECT_TRUE(h.valid());
}

TEST(Watson, FreeMergesWithBothNeighbours) {
  H h;
  void* a = h.alloc(1000);
  void* b = h.alloc(2000);
  void* c = h.alloc(3000);
  void* sep = h.alloc(1000);
  size_t base = h.policy.free_blocks();
  h.release(a);
  h.release(c);
  EXPECT_EQ(h.policy.free_blocks(), base + 2);
  h.release(b);
  EXPECT_EQ(h.policy.free_blocks(), base + 1);
  EXPECT_TRUE(h.valid());
  h.release(sep);
  EXPECT_TRUE(h.valid());
}

// Asked for part of its free memory (another part of the allocator grows), the heap gives back
// whole pages from the lowest free address up, as much as asked, and remembers where it stopped;
// the blocks stay usable.
TEST(Watson, GivesBackFreePagesFromTheLowestAddressUp) {
  H h;
  const size_t page = page_size(), kBlock = 64 * page;
  auto resident = [page](const void* p, size_t size) {  // of the whole pages inside [p, p + size)
    uintptr_t lo = align_up(reinterpret_cast<uintptr_t>(p), page);
    uintptr_t hi = align_down(reinterpret_cast<uintptr_t>(p) + size, page);
    return os::resident_bytes(lo, hi - lo);
  };
  void* a = h.alloc(kBlock);
  void* sep = h.alloc(1000);
  void* b = h.alloc(kBlock);
  void* sep2 = h.alloc(1000);
  ASSERT_LT(a, b);
  fill(a, kBlock, 1), fill(b, kBlock, 2);
  h.release(a), h.release(b);
  size_t whole = resident(a, kBlock);
  ASSERT_GE(whole, kBlock - 2 * page);
  uintptr_t low = 0;
  EXPECT_EQ(h.policy.disclaim_free_from(&low, 16 * page), 16 * page);
  EXPECT_LE(resident(a, kBlock), whole - 16 * page);
  EXPECT_GE(resident(a, kBlock), whole - 17 * page);
  EXPECT_GE(resident(b, kBlock), kBlock - 2 * page) << "the higher block went back first";
  EXPECT_GT(low, reinterpret_cast<uintptr_t>(a));
  EXPECT_LT(low, reinterpret_cast<uintptr_t>(a) + kBlock);
  // The rest of the lower block, then the higher one; nothing below `low` is given twice.
  size_t rest = h.policy.disclaim_free_from(&low, kBlock);
  EXPECT_GE(rest, kBlock - page);
  EXPECT_LE(rest, kBlock + 2 * page);
  EXPECT_EQ(resident(a, kBlock), 0u);
  EXPECT_LT(resident(b, kBlock), kBlock - 2 * page);
  EXPECT_GT(resident(b, kBlock), 0u);
  h.policy.disclaim_free_from(&low, 4 * kBlock);
  EXPECT_EQ(resident(b, kBlock), 0u);
  EXPECT_EQ(low, UINTPTR_MAX) << "past the last free block";
  EXPECT_EQ(h.policy.disclaim_free_from(&low, kBlock), 0u);
  EXPECT_TRUE(h.valid());
  void* c = h.alloc(kBlock);
  ASSERT_NE(c, nullptr);
  fill(c, kBlock, 3);
  EXPECT_EQ(first_mismatch(c, kBlock, 3), kBlock);
  h.release(c), h.release(sep), h.release(sep2);
  EXPECT_TRUE(h.valid());
}

TEST(Watson, CachedSmallBlocksGoBackToTheTreesBeforeTheHeapGrows) {
  H h;
  std::vector<void*> small;
  for (int i = 0; i < 20000; ++i) small.push_back(h.alloc(200));
  for (void* p : small) h.release(p);
  size_t acquired = h.memory.committed();
  // The freed small blocks are only on class lists; a large request must reuse them rather than
  // grow the heap.
  void* big = h.alloc(2 << 20);
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(h.memory.committed(), acquired);
  EXPECT_TRUE(h.valid());
  h.release(big);
  EXPECT_TRUE(h.valid());
}

TEST(Watson, ReallocGrowsInPlaceAndMovesToTheBestFit) {
  H h;
  // Watson carves from the top down: allocated in this order, b lies right above a.
  void* sep = h.alloc(1000);
  void* b = h.alloc(1000);
  void* a = h.alloc(1000);
  ASSERT_EQ(static_cast<char*>(a) + 1024, b);
  fill(a, 1000, 1);
  h.release(b);
  void* r = h.policy.reallocate(a, 1900);
  EXPECT_EQ(r, a);  // the free successor absorbs the growth
  EXPECT_EQ(first_mismatch(r, 1000, 1), 1000u);
  EXPECT_TRUE(h.valid());
  void* r2 = h.policy.reallocate(r, 50000);
  EXPECT_NE(r2, r);
  EXPECT_EQ(first_mismatch(r2, 1000, 1), 1000u);
  EXPECT_TRUE(h.valid());
  h.release(r2), h.release(sep);
  EXPECT_TRUE(h.valid());
}

// A small class's block (48 bytes) is below what the trees can hold. When a fresh heap's free memory
// is all on class lists, growing a small block must still grow the heap by a listable block: the
// reallocation succeeds, and every byte the heap handed out is accounted for.
TEST(Watson, ASmallReallocOnAHeapWithOnlyClassListsGrowsIt) {
  PolicyHarness<Watson> h;
  void* p = h.alloc(2);  // one 4 KiB run of 32-byte blocks, all on the class list but p
  ASSERT_NE(p, nullptr);
  fill(p, 2, 7);
  void* q = h.policy.reallocate(p, 17);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(first_mismatch(q, 2, 7), 2u);
  EXPECT_GE(h.policy.usable_size(q), 17u);
  EXPECT_TRUE(h.valid());
  h.release(q);
  EXPECT_TRUE(h.valid());
}

// The class lists go back to the trees before the heap takes memory it does not have yet, not while
// it keeps committed room above its blocks: a list's refill then grows into that room and leaves
// the other lists' blocks where they are (a flush walks every list; on every refill it doubled the
// cost of a small malloc/free pair).
TEST(Watson, ARefillGrowsIntoKeptRoomWithoutFlushingTheLists) {
  PolicyHarness<Watson> h;
  void* below = h.alloc(1000);  // a tree block, right below the class run that follows
  std::vector<void*> small;
  for (int i = 0; i < 60; ++i) small.push_back(h.alloc(50));
  h.release(below);
  for (void* p : small) h.release(p);  // on class 64's list, the first beside the tree block
  size_t blocks = h.policy.free_blocks();
  ASSERT_GT(h.memory.kept(), size_t{8192});
  void* other = h.alloc(300);  // class 320's first run: more than the tree block holds
  ASSERT_NE(other, nullptr);
  EXPECT_GE(h.policy.free_blocks(), blocks) << "the class lists were flushed into the trees";
  EXPECT_TRUE(h.valid());
  h.release(other);
  EXPECT_TRUE(h.valid());
}

// An aligned block fresh from the system (cat's 128 KiB buffer, aligned to a page): what the
// alignment left above it goes back to the heap's memory unwritten, not into a free block whose
// prefix would be the one write on the page above; the next growth hands it out again.
TEST(Watson, AnAlignedBlockLeavesThePageAboveItUntouched) {
  PolicyHarness<Watson> h;
  constexpr size_t kSize = size_t{128} << 10;
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  auto* p = static_cast<char*>(h.alloc(kSize, page));
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % page, 0u);
  EXPECT_TRUE(h.valid());
  unsigned char resident = 1;
  ASSERT_EQ(mincore(p + kSize, page, &resident), 0);
  EXPECT_EQ(resident & 1, 0) << "the page above the block was written";
  void* q = h.alloc(2 * page);  // more than the gap the alignment left below the block
  EXPECT_EQ(static_cast<char*>(q), p + kSize + kHeaderSize)
      << "the memory above the block was not handed out again";
  EXPECT_TRUE(h.valid());
  h.release(q);
  h.release(p);
  EXPECT_TRUE(h.valid());
}

}  // namespace
}  // namespace aixmalloc::testing
