// The 3.1 allocator's rules, as AIX's: power-of-two buckets by the table (prefix included), slack
// that malloc_usable_size shows and that may be written, no splitting and no merging, realloc in
// place within a bucket, page-aligned data for blocks of a page or more, their pages given back.
#include "policies/three_one.h"

#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "tests/unit/harness.h"

namespace aixmalloc::testing {
namespace {

using H = PolicyHarness<ThreeOne>;

TEST(ThreeOne, BucketTableAtEveryBoundary) {
  // needed = request + 16; the smallest power of two >= needed; bucket 0 (16 bytes) holds nothing.
  EXPECT_EQ(ThreeOne::bucket_for(0), 1u);
  EXPECT_EQ(ThreeOne::bucket_for(16), 1u);   // needed 32: exactly bucket 1, not IBM's formula's 2
  EXPECT_EQ(ThreeOne::bucket_for(17), 2u);
  EXPECT_EQ(ThreeOne::bucket_for(48), 2u);
  EXPECT_EQ(ThreeOne::bucket_for(49), 3u);
  for (unsigned b = 2; b < ThreeOne::kBuckets; ++b) {
    size_t top = ThreeOne::block_size(b) - kHeaderSize;
    EXPECT_EQ(ThreeOne::bucket_for(top), b) << b;
    EXPECT_EQ(ThreeOne::bucket_for(top - ThreeOne::block_size(b - 1) / 2), b) << b;
    EXPECT_EQ(ThreeOne::bucket_for(ThreeOne::block_size(b - 1) - kHeaderSize + 1), b) << b;
  }
  EXPECT_EQ(ThreeOne::bucket_for(ThreeOne::block_size(27) - kHeaderSize), 27u);
  EXPECT_EQ(ThreeOne::bucket_for(ThreeOne::block_size(27)), ThreeOne::kBuckets);
}

TEST(ThreeOne, UsableSizeShowsTheSlackAndTheSlackIsWritable) {
  H h;
  void* p = h.alloc(33);  // bucket 2: 64-byte block
  EXPECT_EQ(h.policy.usable_size(p), 48u);
  void* q = h.alloc(33);
  memset(p, 0xee, 48);  // an old AIX program writing past its 33 bytes harms nothing
  fill(q, 33, 1);
  EXPECT_EQ(first_mismatch(q, 33, 1), 33u);
  EXPECT_TRUE(h.valid());
  h.release(p), h.release(q);
}

TEST(ThreeOne, NeverSplitsOrMerges) {
  H h;
  std::vector<void*> small;
  for (int i = 0; i < 64; ++i) small.push_back(h.alloc(40));  // 64-byte blocks: a whole page
  for (void* p : small) h.release(p);
  size_t acquired = h.memory.committed();
  size_t blocks = h.policy.free_blocks();
  // 4 KiB of adjacent free 64-byte blocks: a 100-byte request cannot use them.
  void* p = h.alloc(100);
  EXPECT_EQ(h.policy.usable_size(p), 112u);
  EXPECT_EQ(h.policy.free_blocks(), blocks + 4096 / 128 - 1);  // a fresh page of 128-byte blocks
  EXPECT_GE(h.memory.committed(), acquired);
  // and the freed 64-byte blocks serve requests of their bucket, last freed first.
  EXPECT_EQ(h.alloc(40), small.back());
  EXPECT_TRUE(h.valid());
}

TEST(ThreeOne, ReallocStaysInPlaceWithinTheBucket) {
  H h;
  void* p = h.alloc(100);  // bucket 3: 128-byte block, up to 112 bytes
  fill(p, 100, 2);
  EXPECT_EQ(h.policy.reallocate(p, 112), p);
  EXPECT_EQ(h.policy.reallocate(p, 49), p);
  void* bigger = h.policy.reallocate(p, 113);  // next bucket: moves
  EXPECT_NE(bigger, p);
  EXPECT_EQ(first_mismatch(bigger, 49, 2), 49u);
  void* smaller = h.policy.reallocate(bigger, 10);  // a smaller bucket: moves too
  EXPECT_NE(smaller, bigger);
  EXPECT_EQ(first_mismatch(smaller, 10, 2), 10u);
  EXPECT_TRUE(h.valid());
}

TEST(ThreeOne, LargeBlocksArePageAlignedAndGiveTheirPagesBack) {
  H h;
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* p = h.alloc(100000);  // bucket 13: 128 KiB block
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % page, 0u);
  EXPECT_EQ(h.policy.usable_size(p), 128u * 1024 - 16);
  memset(p, 1, 100000);
  unsigned char resident[32];
  ASSERT_EQ(mincore(p, 32 * page, resident), 0);
  EXPECT_EQ(resident[0] & 1, 1);
  h.release(p);
  // Pages go back once freed memory has stayed free a second, at the next free of a large block.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  h.release(h.alloc(5000));
  ASSERT_EQ(mincore(p, 32 * page, resident), 0);
  int still = 0;
  for (unsigned char r : resident) still += r & 1;
  EXPECT_EQ(still, 0) << "freed pages of a large 3.1 block stay resident";
  EXPECT_EQ(h.alloc(90000), p);  // and the block waits on its bucket's list
  EXPECT_TRUE(h.valid());
}

TEST(ThreeOne, AFewFreedLargeBlocksKeepTheirPages) {
  H h;
  void* p = h.alloc(100000);
  memset(p, 1, 100000);
  h.release(p);
  unsigned char resident[1];
  ASSERT_EQ(mincore(p, 1, resident), 0);
  EXPECT_EQ(resident[0] & 1, 1) << "a lone freed block was disclaimed: reuse would fault again";
}

TEST(ThreeOne, AlignedRequests) {
  H h;
  for (size_t align = 16; align <= 65536; align *= 2) {
    void* p = h.alloc(24, align);
    ASSERT_NE(p, nullptr) << align;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % align, 0u);
    fill(p, 24, align);
    ASSERT_TRUE(h.valid()) << align;
  }
}

}  // namespace
}  // namespace aixmalloc::testing
