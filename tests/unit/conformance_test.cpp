// The contract every policy keeps, as one typed suite: later policies join by adding their type to
// PolicyTypes, and every case runs for each of them, with check() after every step.
#include <map>
#include <vector>

#include "policies/three_one.h"
#include "policies/watson.h"
#include "policies/yorktown.h"
#include "tests/unit/harness.h"

namespace aixmalloc::testing {
namespace {

template <class P>
class Conformance : public ::testing::Test {
 protected:
  PolicyHarness<P> h;
};

using PolicyTypes = ::testing::Types<Yorktown, Watson, ThreeOne>;
TYPED_TEST_SUITE(Conformance, PolicyTypes);

TYPED_TEST(Conformance, ZeroByteRequestsGetDistinctUsableBlocks) {
  void* a = this->h.alloc(0);
  void* b = this->h.alloc(0);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  EXPECT_TRUE(this->h.valid());
  this->h.release(a), this->h.release(b);
  EXPECT_TRUE(this->h.valid());
}

TYPED_TEST(Conformance, BlocksAreAlignedSizedAndDisjoint) {
  std::map<uintptr_t, size_t> live;  // start -> usable size
  std::map<uintptr_t, size_t> seeds;
  for (size_t size = 1; size < 20000; size = size * 3 / 2 + 1) {
    void* p = this->h.alloc(size);
    ASSERT_NE(p, nullptr);
    auto a = reinterpret_cast<uintptr_t>(p);
    EXPECT_EQ(a % 16, 0u);
    size_t usable = this->h.policy.usable_size(p);
    EXPECT_GE(usable, size);
    auto next = live.lower_bound(a);
    if (next != live.end()) {
      EXPECT_LE(a + usable, next->first);
    }
    if (next != live.begin()) {
      EXPECT_LE(std::prev(next)->first + std::prev(next)->second, a);
    }
    live[a] = usable;
    seeds[a] = size;
    fill(p, usable, size);
    ASSERT_TRUE(this->h.valid());
  }
  for (auto [a, usable] : live) {
    void* p = reinterpret_cast<void*>(a);
    EXPECT_EQ(first_mismatch(p, usable, seeds[a]), usable);
    this->h.release(p);
    ASSERT_TRUE(this->h.valid());
  }
}

TYPED_TEST(Conformance, ContentsSurviveNeighbourActivity) {
  std::vector<std::pair<void*, size_t>> live;
  for (size_t i = 0; i < 200; ++i) {
    size_t size = 1 + (i * 37) % 700;
    void* p = this->h.alloc(size);
    fill(p, size, i);
    live.push_back({p, size});
  }
  for (size_t i = 0; i < live.size(); i += 2) this->h.release(live[i].first);
  for (size_t i = 0; i < 100; ++i) this->h.alloc(1 + i % 300);  // reuse the holes
  for (size_t i = 1; i < live.size(); i += 2)
    EXPECT_EQ(first_mismatch(live[i].first, live[i].second, i), live[i].second) << "block " << i;
  EXPECT_TRUE(this->h.valid());
}

TYPED_TEST(Conformance, ReallocPreservesContentsGrowingAndShrinking) {
  void* p = this->h.alloc(10);
  fill(p, 10, 7);
  size_t size = 10;
  for (size_t next : {100ul, 5000ul, 40ul, 70000ul, 16ul, 300000ul, 1ul}) {
    void* q = this->h.policy.reallocate(p, next);
    ASSERT_NE(q, nullptr);
    size_t keep = std::min(size, next);
    ASSERT_EQ(first_mismatch(q, keep, 7), keep) << size << " -> " << next;
    EXPECT_GE(this->h.policy.usable_size(q), next);
    fill(q, next, 7);
    ASSERT_TRUE(this->h.valid());
    p = q;
    size = next;
  }
  this->h.release(p);
  EXPECT_TRUE(this->h.valid());
}

TYPED_TEST(Conformance, FreedMemoryIsReused) {
  void* a = this->h.alloc(5000);
  void* sep = this->h.alloc(16);
  size_t acquired = this->h.memory.given();
  this->h.release(a);
  for (int i = 0; i < 1000; ++i) {
    void* p = this->h.alloc(5000);
    this->h.release(p);
  }
  EXPECT_EQ(this->h.memory.given(), acquired);
  this->h.release(sep);
  EXPECT_TRUE(this->h.valid());
}

TYPED_TEST(Conformance, StatisticsAddUp) {
  void* a = this->h.alloc(1000);
  void* b = this->h.alloc(3000);
  size_t in_use = this->h.memory.given() - this->h.policy.free_bytes();
  EXPECT_GE(in_use, 4000u);
  this->h.release(a);
  EXPECT_GE(this->h.policy.largest_free(), 1000u);  // a's block, free
  this->h.release(b);
  EXPECT_TRUE(this->h.valid());
}

}  // namespace
}  // namespace aixmalloc::testing

namespace aixmalloc::testing {
namespace {

// check() is what every other test leans on: it must notice a damaged heap. A freed block's prefix
// is altered (a flag bit set, then the size changed), check() must say so, and all is well again
// once the prefix is restored.
TYPED_TEST(Conformance, CheckNoticesADamagedFreeBlock) {
  void* a = this->h.alloc(5000);
  void* sep = this->h.alloc(5000);
  this->h.release(a);
  ASSERT_TRUE(this->h.valid());
  // Every policy keeps a large freed block's prefix in front of its old user pointer.
  auto* word = static_cast<uintptr_t*>(a) - 2;
  uintptr_t saved = *word;
  *word = saved | 4;  // a flag no free block carries
  EXPECT_FALSE(this->h.valid());
  *word = saved + kAlignment;  // a size that does not match the heap
  EXPECT_FALSE(this->h.valid());
  *word = saved;
  EXPECT_TRUE(this->h.valid());
  this->h.release(sep);
}

}  // namespace
}  // namespace aixmalloc::testing
