// Seeded random operation sequences against a shadow model, for every policy: malloc, calloc,
// realloc, memalign and free over sizes from 1 byte to several MiB. Every block holds its own
// pattern, verified before free and after realloc; no two live blocks overlap; check() after every
// step. The seed is printed on failure, so a failing sequence can be replayed.
#include <sys/mman.h>

#include <map>
#include <vector>

#include "libmalloc/base/fresh.h"
#include "policies/three_one.h"
#include "policies/watson.h"
#include "policies/yorktown.h"
#include "tests/unit/harness.h"

namespace aixmalloc::testing {
namespace {

struct Live {
  void* p;
  size_t size;
  uint64_t seed;
};

size_t random_size(std::mt19937_64& rng) {
  switch (rng() % 16) {
    case 0:
      return 1 + rng() % (4 << 20);  // up to 4 MiB
    case 1:
    case 2:
      return 1 + rng() % 65536;
    default:
      return rng() % 600;
  }
}

template <class P>
void run_sequence(uint64_t seed, int steps) {
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  PolicyHarness<P> h;
  std::mt19937_64 rng(seed);
  std::vector<Live> live;
  std::map<uintptr_t, size_t> ranges;  // start -> usable size, for the overlap check
  uint64_t next_seed = seed << 20;
  auto add = [&](void* p, size_t size) {
    ASSERT_NE(p, nullptr);
    auto a = reinterpret_cast<uintptr_t>(p);
    size_t usable = h.policy.usable_size(p);
    ASSERT_GE(usable, size);
    auto it = ranges.lower_bound(a);
    if (it != ranges.end()) {
      ASSERT_LE(a + usable, it->first) << "overlaps the next live block";
    }
    if (it != ranges.begin()) {
      ASSERT_LE(std::prev(it)->first + std::prev(it)->second, a);
    }
    ranges[a] = usable;
    live.push_back({p, size, ++next_seed});
    fill(p, size, live.back().seed);
  };
  for (int step = 0; step < steps; ++step) {
    unsigned op = rng() % 10;
    if (live.empty() || op < 4) {  // malloc, calloc or memalign
      size_t size = random_size(rng);
      if (op == 3) {
        size_t align = size_t{16} << (rng() % 13);
        void* p = h.alloc(size, align);
        ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % align, 0u);
        add(p, size);
      } else {
        add(h.alloc(size), size);
      }
    } else if (op < 7) {  // free
      size_t i = rng() % live.size();
      Live b = live[i];
      ASSERT_EQ(first_mismatch(b.p, b.size, b.seed), b.size) << "step " << step;
      ranges.erase(reinterpret_cast<uintptr_t>(b.p));
      h.release(b.p);
      live[i] = live.back();
      live.pop_back();
    } else {  // realloc
      size_t i = rng() % live.size();
      Live b = live[i];
      size_t size = random_size(rng);
      ranges.erase(reinterpret_cast<uintptr_t>(b.p));
      void* q = h.policy.reallocate(b.p, size);
      ASSERT_NE(q, nullptr);
      size_t keep = std::min(size, b.size);
      ASSERT_EQ(first_mismatch(q, keep, b.seed), keep) << "step " << step;
      live[i] = live.back();
      live.pop_back();
      add(q, size);
    }
    ASSERT_TRUE(h.valid()) << "step " << step;
  }
  for (const Live& b : live) {
    ASSERT_EQ(first_mismatch(b.p, b.size, b.seed), b.size);
    h.release(b.p);
  }
  ASSERT_TRUE(h.valid());
  if constexpr (P::kCoalescing) {
    // With every block freed, every byte the policy was given is free again but each segment's
    // record and fence: nothing leaked, nothing counted twice.
    size_t overhead = 0;
    for (const Segment* s = h.memory.segments(); s; s = s->next)
      overhead += s->first_block() - s->base + P::kMinBlock;
    EXPECT_EQ(h.memory.given() - h.policy.free_bytes(), overhead);
  }
}

template <class P>
class Property : public ::testing::Test {};
using PolicyTypes = ::testing::Types<Yorktown, Watson, ThreeOne>;
TYPED_TEST_SUITE(Property, PolicyTypes);

TYPED_TEST(Property, RandomSequencesAgainstAShadowModel) {
#if defined(__SANITIZE_THREAD__)
  // One thread: ThreadSanitizer has no race to find here, and its build runs this test ten times
  // slower; the default and ASan builds run every seed.
  for (uint64_t seed : {1ull, 42ull}) run_sequence<TypeParam>(seed, 3000);
#else
  for (uint64_t seed : {1ull, 2ull, 3ull, 42ull, 1234567ull}) run_sequence<TypeParam>(seed, 3000);
#endif
}

// calloc, as the runtime makes it of a policy's blocks: the policy's note for the block, then the
// clear (libmalloc/base/fresh.h).
template <class P>
void* calloc_on(PolicyHarness<P>& h, size_t n, size_t align = 16) {
  fresh::forget();
  void* p = h.alloc(n, align);
  if (p != nullptr) fresh::clear(p, n);
  return p;
}

// Every block calloc returns holds zeros, whatever the heap did before: blocks filled and freed,
// merged, split, moved and grown in place by realloc, aligned, small ones on class lists. Each step
// dirties every byte it hands out, so a write (the program's, or the policy's own prefixes and
// links) that the policy's pristine range failed to leave shows as a nonzero byte.
TYPED_TEST(Property, EveryCallocHoldsZerosAfterAnyHistory) {
  PolicyHarness<TypeParam> h;
  std::mt19937_64 rng(20261206);
  struct Block {
    void* p;
    size_t n;
  };
  std::vector<Block> live;
  auto some_size = [&] {
    switch (rng() % 4) {
      case 0: return size_t{16} + rng() % 600;
      case 1: return size_t{600} + rng() % 60000;
      default: return fresh::kMinBytes + rng() % (size_t{1} << 20);
    }
  };
  for (int step = 0; step < 1500; ++step) {
    unsigned op = rng() % 8;
    if (live.empty() || op < 3) {
      size_t n = some_size();
      size_t align = rng() % 4 == 0 ? size_t{64} << (rng() % 8) : 16;
      auto* p = static_cast<unsigned char*>(calloc_on(h, n, align));
      ASSERT_NE(p, nullptr);
      size_t zeros = 0;
      while (zeros < n && p[zeros] == 0) ++zeros;
      ASSERT_EQ(zeros, n) << "step " << step << ": a nonzero byte in a calloc of " << n;
      memset(p, 0xa5, n);
      live.push_back({p, n});
    } else if (op < 5) {
      size_t n = some_size();
      void* p = h.alloc(n);
      ASSERT_NE(p, nullptr);
      memset(p, 0x5a, n);
      live.push_back({p, n});
    } else if (op < 7) {
      size_t i = rng() % live.size();
      h.release(live[i].p);
      live[i] = live.back();
      live.pop_back();
    } else {
      size_t i = rng() % live.size();
      size_t n = some_size();
      void* q = h.policy.reallocate(live[i].p, n);
      ASSERT_NE(q, nullptr);
      memset(q, 0x3c, n);
      live[i] = {q, n};
    }
    ASSERT_TRUE(h.valid()) << "step " << step;
  }
  for (const Block& b : live) h.release(b.p);
  EXPECT_TRUE(h.valid());
}

size_t resident_pages(const void* p, size_t n) {
  uintptr_t a = align_down(reinterpret_cast<uintptr_t>(p), page_size());
  size_t len = align_up(reinterpret_cast<uintptr_t>(p) + n, page_size()) - a;
  std::vector<unsigned char> v(len / page_size());
  EXPECT_EQ(mincore(reinterpret_cast<void*>(a), len, v.data()), 0);
  size_t count = 0;
  for (unsigned char c : v) count += c & 1;
  return count;
}

// A calloc the heap grows for comes from memory nothing has written: the policy leaves it as the
// system gave it, zeros not yet resident, as a sparse table stays under glibc. Before, every page
// of it was cleared and so made resident (python3 at start-up: 384 KiB).
template <class P>
class FreshCalloc : public ::testing::Test {};
using TrackingTypes = ::testing::Types<Yorktown, Watson>;
TYPED_TEST_SUITE(FreshCalloc, TrackingTypes);

TYPED_TEST(FreshCalloc, LeavesThePagesOfFreshMemoryUntouched) {
  PolicyHarness<TypeParam> h;
  void* before = h.alloc(100000);  // the heap's first growth, its segment's first pages
  ASSERT_NE(before, nullptr);
  constexpr size_t kSize = size_t{1} << 20;
  for (int i = 0; i < 3; ++i) {
    auto* p = static_cast<unsigned char*>(calloc_on(h, kSize));
    ASSERT_NE(p, nullptr);
    EXPECT_LE(resident_pages(p, kSize), 2u) << "calloc " << i;
    for (size_t k = 0; k < kSize; k += 512) ASSERT_EQ(p[k], 0) << k;
  }
  // Written and freed, the same memory is cleared for the next calloc.
  auto* q = static_cast<unsigned char*>(h.alloc(kSize));
  memset(q, 0xee, kSize);
  h.release(q);
  auto* r = static_cast<unsigned char*>(calloc_on(h, kSize));
  ASSERT_NE(r, nullptr);
  for (size_t k = 0; k < kSize; ++k) ASSERT_EQ(r[k], 0) << k;
  EXPECT_TRUE(h.valid());
}

// A growth that takes more than the request lacks (the heap hands a policy the last few KiB of
// its committed step with the growth that leaves them) leaves a remainder beside the block, whose
// prefix is written in fresh memory: the range kept as zeros must leave it (check() looks), and a
// calloc from the remainder must still hold zeros. Also in place and moved by realloc.
TYPED_TEST(FreshCalloc, ARemainderBesideAFreshBlockLeavesTheRange) {
  PolicyHarness<TypeParam> h;
  std::vector<void*> live;
  live.push_back(h.alloc(1000));
  for (int i = 0; i < 40; ++i) {
    size_t kept = h.memory.kept();
    size_t n = kept > 6000 ? kept - 3000 : 70000;
    void* p = h.alloc(n);
    ASSERT_NE(p, nullptr);
    ASSERT_TRUE(h.valid()) << "step " << i;
    memset(p, 0x6b, n);
    live.push_back(p);
    auto* q = static_cast<unsigned char*>(calloc_on(h, 200));
    ASSERT_NE(q, nullptr);
    for (size_t k = 0; k < 200; ++k) ASSERT_EQ(q[k], 0) << "step " << i;
    memset(q, 0x6c, 200);
    live.push_back(q);
    if (i % 3 == 0) {  // realloc: in place into fresh memory, or moved
      void* r = h.policy.reallocate(live[live.size() - 2], n + 5000);
      ASSERT_NE(r, nullptr);
      memset(r, 0x6d, n + 5000);
      live[live.size() - 2] = r;
      ASSERT_TRUE(h.valid()) << "step " << i;
    }
  }
  for (void* p : live) h.release(p);
  EXPECT_TRUE(h.valid());
}

}  // namespace
}  // namespace aixmalloc::testing
