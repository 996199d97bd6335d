// The bucket front end, sized and refilled as AIX's: which bucket a request goes to, at every
// boundary and for non-default factors and counts; blocks carved from regions of the policy; reuse
// without merging.
#include "options/buckets.h"

#include "policies/yorktown.h"
#include "tests/unit/harness.h"

namespace aixmalloc::testing {
namespace {

TEST(Buckets, SizeToBucketAtEveryBoundary) {
  for (unsigned factor : {16u, 32u, 64u, 48u, 4096u}) {
    for (unsigned count : {1u, 16u, 128u}) {
      Buckets b;
      b.configure(count, factor, 1024);
      EXPECT_EQ(b.largest(), size_t{count} * factor);
      EXPECT_EQ(b.bucket_for(0), 0u);
      for (unsigned i = 0; i < count; ++i) {
        size_t top = size_t{i + 1} * factor;  // bucket i holds (i+1) * factor bytes
        EXPECT_EQ(b.bucket_for(top), i) << factor << " " << i;
        EXPECT_EQ(b.bucket_for(top - factor + 1), i) << factor << " " << i;
        if (i + 1 < count) {
          EXPECT_EQ(b.bucket_for(top + 1), i + 1);
        }
        EXPECT_EQ(b.block_size(i), kHeaderSize + top);  // the prefix counts in the bucket's size
      }
    }
  }
}

TEST(Buckets, BlocksComeFromRegionsOfThePolicyAndAreReused) {
  PolicyHarness<Yorktown> h;
  Buckets b;
  b.configure(16, 64, 8);
  b.clear();  // what BucketsLayer::configure does when the buckets are on
  size_t free_before = h.policy.free_bytes();
  void* first = b.allocate(b.bucket_for(10), h.policy);
  // One region: 8 blocks of 16 + 64 bytes, one allocated block of the policy.
  EXPECT_LE(h.policy.free_bytes(), free_before - 8 * 80);
  std::vector<void*> got{first};
  for (int i = 1; i < 8; ++i) got.push_back(b.allocate(0, h.policy));
  for (size_t i = 1; i < got.size(); ++i)
    EXPECT_EQ(static_cast<char*>(got[i]) - static_cast<char*>(got[i - 1]), 80);
  size_t free_after_region = h.policy.free_bytes(), given = h.memory.given();
  void* ninth = b.allocate(0, h.policy);  // a second region: from the policy's free memory, or more
  EXPECT_TRUE(h.policy.free_bytes() < free_after_region || h.memory.given() > given);
  EXPECT_TRUE(Buckets::is_bucket_block(BlockHeader::of(ninth)));
  b.release(BlockHeader::of(got[3]));
  EXPECT_TRUE(Buckets::is_free_bucket_block(BlockHeader::of(got[3])));
  EXPECT_EQ(b.allocate(0, h.policy), got[3]);  // freed blocks wait on their bucket's list
  EXPECT_EQ(b.requests(0), 10u);
  EXPECT_EQ(b.total_requests(), 10u);
  EXPECT_TRUE(h.valid());
}

}  // namespace
}  // namespace aixmalloc::testing
