// Large blocks (libmalloc/base/large_blocks.h): a request of kLargeThreshold bytes or more gets an
// address range of its own, resized by moving pages, cached for the next large request once freed.
// First the component through its own functions, then through the exported malloc. Runs in the
// runtime's executable under every configuration: large blocks are the same under all of them.
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "libmalloc/aixmalloc.h"
#include "libmalloc/base/address_map.h"
#include "libmalloc/base/large_blocks.h"
#include "libmalloc/base/platform.h"
#include "tests/unit/harness.h"
#include "tests/unit/runtime_harness.h"

namespace {

namespace large = aixmalloc::large;
using aixmalloc::address_map;
using aixmalloc::kAlignment;
using aixmalloc::kGranule;
using aixmalloc::kLargeThreshold;
using aixmalloc::Owner;
using aixmalloc::OwnerKind;
using aixmalloc::testing::fill;
using aixmalloc::testing::first_mismatch;
using aixmalloc::testing::launder;

Owner owner_of(const void* p) { return address_map().lookup(p); }

char* at(void* p, size_t offset) { return static_cast<char*>(p) + offset; }

size_t nonzero_bytes(const void* p, size_t n) {
  size_t count = 0;
  for (size_t i = 0; i < n; ++i) count += static_cast<const unsigned char*>(p)[i] != 0;
  return count;
}

// --- the component --------------------------------------------------------------------------------

TEST(LargeBlocks, AllocateGivesARangeOfItsOwn) {
  large::drop_cache();
  aixmalloc::LargeFigures before = large::totals();
  void* p = large::allocate(kLargeThreshold, kAlignment);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % kAlignment, 0u);
  Owner o = owner_of(p);
  EXPECT_EQ(o.kind(), OwnerKind::kLarge);
  EXPECT_TRUE(large::valid(p, o));
  EXPECT_FALSE(large::freed(p, o));
  size_t usable = large::usable_size(p, o);
  EXPECT_GE(usable, kLargeThreshold);
  memset(p, 0x5a, usable);  // every usable byte is the block's
  EXPECT_EQ(owner_of(at(p, usable - 1)).word, o.word);
  // Only the block's own address is one: not an interior or a misaligned pointer.
  EXPECT_FALSE(large::valid(at(p, 16), o));
  EXPECT_FALSE(large::valid(at(p, 1), o));
  aixmalloc::LargeFigures during = large::totals();
  EXPECT_EQ(during.blocks, before.blocks + 1);
  EXPECT_GE(during.bytes, before.bytes + kLargeThreshold);
  EXPECT_EQ(during.allocations, before.allocations + 1);

  large::release(p, o);
  EXPECT_FALSE(large::valid(p, o));
  EXPECT_TRUE(large::freed(p, o)) << "a cached range must still tell a second free apart";
  aixmalloc::LargeFigures after = large::totals();
  EXPECT_EQ(after.blocks, before.blocks);
  EXPECT_EQ(after.bytes, before.bytes);
  EXPECT_GE(after.cached_bytes, kLargeThreshold);
  EXPECT_GE(large::drop_cache(), kLargeThreshold);
  EXPECT_EQ(large::totals().cached_bytes, 0u);
  EXPECT_EQ(owner_of(p).word, 0u) << "an unmapped range stayed in the address map";
}

TEST(LargeBlocks, AlignedBlocks) {
  for (size_t align : {size_t{4096}, size_t{1} << 20, size_t{4} << 20}) {
    size_t size = kLargeThreshold + 100;
    void* p = large::allocate(size, align);
    ASSERT_NE(p, nullptr) << align;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % align, 0u) << align;
    Owner o = owner_of(p);
    ASSERT_TRUE(large::valid(p, o)) << align;
    EXPECT_GE(large::usable_size(p, o), size);
    memset(p, 1, size);
    large::release(p, o);
  }
  large::drop_cache();
}

// Growing a block moves its pages (mremap), never its bytes; shrinking unmaps the tail in place.
TEST(LargeBlocks, ReallocateByRemapping) {
  constexpr size_t kStart = 8 << 20, kGrown = 64 << 20, kShrunk = 5 << 20, kEdge = 64 << 10;
  void* p = large::allocate(kStart, kAlignment);
  ASSERT_NE(p, nullptr);
  fill(p, kEdge, 1);
  fill(at(p, kStart - kEdge), kEdge, 2);
  void* q = large::reallocate(p, owner_of(p), kGrown);
  ASSERT_NE(q, nullptr);
  Owner o = owner_of(q);
  ASSERT_TRUE(large::valid(q, o));
  EXPECT_GE(large::usable_size(q, o), kGrown);
  EXPECT_EQ(first_mismatch(q, kEdge, 1), kEdge);
  EXPECT_EQ(first_mismatch(at(q, kStart - kEdge), kEdge, 2), kEdge);
  memset(at(q, kGrown - kEdge), 3, kEdge);  // the new pages are there
  EXPECT_EQ(owner_of(at(q, kGrown - 1)).word, o.word);

  void* r = large::reallocate(q, o, kShrunk);
  EXPECT_EQ(r, q) << "a shrinking block moved";
  EXPECT_EQ(first_mismatch(r, kEdge, 1), kEdge);
  size_t usable = large::usable_size(r, o);
  EXPECT_GE(usable, kShrunk);
  EXPECT_LT(usable, kStart);
  EXPECT_NE(owner_of(at(r, kGrown - 1)).word, o.word) << "the unmapped tail stayed in the map";
  large::release(r, o);
  large::drop_cache();
}

// An over-aligned block does not start where its range does; it is not remapped (the caller
// copies it), and stays intact.
TEST(LargeBlocks, OverAlignedBlockIsNotRemapped) {
  void* p = large::allocate(kLargeThreshold, 1 << 20);
  ASSERT_NE(p, nullptr);
  Owner o = owner_of(p);
  fill(p, 4096, 9);
  EXPECT_EQ(large::reallocate(p, o, 2 * kLargeThreshold), nullptr);
  EXPECT_TRUE(large::valid(p, o));
  EXPECT_EQ(first_mismatch(p, 4096, 9), 4096u);
  large::release(p, o);
  large::drop_cache();
}

// A freed range serves the next large request: kept whole or trimmed when it is larger, grown when
// it is smaller. Only a reused range needs clearing for calloc; a fresh one reads as zeros already.
TEST(LargeBlocks, CacheServesTheNextRequest) {
  constexpr size_t kBig = 8 << 20, kSmaller = 6 << 20, kBigger = 12 << 20;
  large::drop_cache();
  void* fresh = large::allocate(kBig, kAlignment);
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(nonzero_bytes(fresh, kBig), 0u);
  memset(fresh, 0xab, kBig);
  large::clear_if_reused(fresh, kBig);
  EXPECT_EQ(nonzero_bytes(fresh, 4096), 4096u) << "a fresh range was cleared for nothing";
  large::release(fresh, owner_of(fresh));

  uint64_t hits = large::totals().cache_hits;
  void* trimmed = large::allocate(kSmaller, kAlignment);
  EXPECT_EQ(trimmed, fresh);
  EXPECT_EQ(large::totals().cache_hits, hits + 1);
  large::clear_if_reused(trimmed, kSmaller);
  EXPECT_EQ(nonzero_bytes(trimmed, kSmaller), 0u);
  memset(trimmed, 0xcd, kSmaller);
  large::release(trimmed, owner_of(trimmed));

  void* grown = large::allocate(kBigger, kAlignment);
  ASSERT_NE(grown, nullptr);
  EXPECT_EQ(large::totals().cache_hits, hits + 2);
  Owner o = owner_of(grown);
  EXPECT_GE(large::usable_size(grown, o), kBigger);
  large::clear_if_reused(grown, kBigger);
  EXPECT_EQ(nonzero_bytes(grown, kBigger), 0u);
  large::release(grown, o);

  EXPECT_GE(large::drop_cache(), kBigger);
  EXPECT_EQ(large::totals().cached_ranges, 0u);
  EXPECT_EQ(large::drop_cache(), 0u);
}

// A freed range kept for the next large request goes back to the system, once idle for a tenth of
// a second, when a heap is about to take fresh memory: a program that frees a big buffer and then
// grows in small blocks does not keep both resident. Before that, growth leaves it cached.
TEST(LargeBlocks, IdleRangesGoBackBeforeAHeapGrows) {
  constexpr size_t kBig = 8 << 20;
  large::drop_cache();
  void* p = large::allocate(kBig, kAlignment);
  ASSERT_NE(p, nullptr);
  memset(p, 0xab, kBig);
  large::release(p, owner_of(p));
  large::before_growth();
  EXPECT_EQ(large::totals().cached_ranges, 1u) << "a range freed just now went back";
  usleep(150'000);
  large::before_growth();
  EXPECT_EQ(large::totals().cached_ranges, 0u);
  EXPECT_EQ(large::totals().cached_bytes, 0u);
  EXPECT_EQ(owner_of(p).kind(), OwnerKind::kNone) << "its range is still in the address map";
  EXPECT_EQ(large::drop_cache(), 0u);
}

// A request takes the head of a larger cached range; the rest stays cached, its pages resident,
// when it can serve a large request, else the block keeps the whole range. A freed block joins the
// cached range it touches, so the next request of the first size takes the whole range again, no
// page of it faulted in afresh (trimming and growing again faulted every page in).
TEST(LargeBlocks, CachedRangesAreSplitAndJoined) {
  constexpr size_t kBig = 12 << 20, kMost = 9 << 20, kHead = 5 << 20;
  large::drop_cache();
  void* p = large::allocate(kBig, kAlignment);
  ASSERT_NE(p, nullptr);
  memset(p, 0x5a, kBig);
  large::release(p, owner_of(p));
  void* q = large::allocate(kMost, kAlignment);  // the rest, under 4 MiB, could serve no request
  ASSERT_EQ(q, p) << "the cached range was not reused";
  EXPECT_GE(large::usable_size(q, owner_of(q)), kBig - kGranule) << "a rest too small to serve was cut off";
  EXPECT_EQ(static_cast<unsigned char*>(q)[kBig - 4096], 0x5a) << "the kept pages lost their contents";
  EXPECT_EQ(large::totals().cached_ranges, 0u);
  large::release(q, owner_of(q));

  void* head = large::allocate(kHead, kAlignment);
  ASSERT_EQ(head, p);
  size_t head_size = large::usable_size(head, owner_of(head));
  EXPECT_LT(head_size, kHead + kGranule) << "the range was not split";
  EXPECT_EQ(large::totals().cached_ranges, 1u) << "the rest of the range was not kept";
  EXPECT_GE(large::totals().cached_bytes, kBig - kHead - kGranule);
  void* rest = large::allocate(kBig - kHead - 2 * kGranule, kAlignment);
  ASSERT_NE(rest, nullptr);
  EXPECT_GE(reinterpret_cast<uintptr_t>(rest), reinterpret_cast<uintptr_t>(head) + head_size)
      << "the second request did not take the rest";
  EXPECT_EQ(static_cast<unsigned char*>(rest)[kBig - kHead - 4 * kGranule], 0x5a) << "the rest lost its pages";
  EXPECT_EQ(owner_of(rest).object<void>(), owner_of(at(rest, kGranule)).object<void>());
  large::release(rest, owner_of(rest));
  large::release(head, owner_of(head));
  EXPECT_EQ(large::totals().cached_ranges, 1u) << "the freed head did not join the rest";
  void* whole = large::allocate(kBig - 2 * kGranule, kAlignment);
  EXPECT_EQ(whole, p) << "the joined range did not serve the request of its size";
  EXPECT_EQ(static_cast<unsigned char*>(whole)[kBig - 4096], 0x5a) << "the joined range lost its pages";
  large::release(whole, owner_of(whole));
  large::drop_cache();
}

// --- through the exported malloc --------------------------------------------------------------------

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
