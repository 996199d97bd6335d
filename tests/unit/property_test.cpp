// Seeded random operation sequences against a shadow model, for every policy: malloc, calloc,
// realloc, memalign and free over sizes from 1 byte to several MiB. Every block holds its own
// pattern, verified before free and after realloc; no two live blocks overlap; check() after every
// step. The seed is printed on failure, so a failing sequence can be replayed.
#include <map>
#include <vector>

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

}  // namespace
}  // namespace aixmalloc::testing
