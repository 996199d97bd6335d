// The thread cache's class arithmetic and the heaps' depots (options/threadcache.h), driven
// directly: these run in the sanitizer stages too, where the depot's lock-free lists meet TSan.
#include "options/threadcache.h"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace {

using aixmalloc::tcache::Cached;
using aixmalloc::tcache::class_for_block;
using aixmalloc::tcache::class_of;
using aixmalloc::tcache::class_size;
using aixmalloc::tcache::Depot;
using aixmalloc::tcache::kClasses;
using aixmalloc::tcache::kDepotBudget;
using aixmalloc::tcache::kLimit;

TEST(ThreadCacheClasses, EveryRequestFitsItsClass) {
  for (size_t size = 1; size < kLimit; ++size) {
    unsigned c = class_of(size);
    ASSERT_LT(c, kClasses) << size;
    ASSERT_GE(class_size(c), size) << size;
    if (c > 0) {
      ASSERT_LT(class_size(c - 1), size) << size;
    }
    // A block rounded up to its class serves that class again when it is freed.
    ASSERT_EQ(class_for_block(class_size(c)), c) << size;
  }
}

// A chain of n blocks (each a Cached record) out of `storage`.
Cached* chain(std::vector<Cached>& storage, size_t from, unsigned n, Cached** last) {
  for (unsigned i = 0; i + 1 < n; ++i) storage[from + i].next = &storage[from + i + 1];
  storage[from + n - 1].next = nullptr;
  *last = &storage[from + n - 1];
  return &storage[from];
}

TEST(Depot, TakesWholeListsAndKeepsToItsBudget) {
  Depot depot;
  std::vector<Cached> blocks(4096);
  unsigned c = class_of(1024);
  Cached* last = nullptr;
  unsigned n = 0;
  EXPECT_EQ(depot.take(c, &last, &n), nullptr);
  Cached* first = chain(blocks, 0, 4, &last);  // (chain() sets last before give() reads it)
  ASSERT_TRUE(depot.give(c, first, last, 4));
  first = chain(blocks, 4, 3, &last);
  ASSERT_TRUE(depot.give(c, first, last, 3));
  EXPECT_EQ(depot.bytes(), 7 * class_size(c));
  EXPECT_EQ(depot.take(class_of(2048), &last, &n), nullptr) << "another class's list";
  first = depot.take(c, &last, &n);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(n, 7u);
  EXPECT_EQ(last->next, nullptr);
  EXPECT_EQ(depot.bytes(), 0u);
  EXPECT_EQ(depot.take(c, &last, &n), nullptr) << "taken whole";

  // Full: a batch that would pass the budget is refused and left untouched.
  size_t per_batch = 16, fitting = static_cast<size_t>(kDepotBudget) / (per_batch * class_size(c));
  for (size_t i = 0; i < fitting; ++i) {
    first = chain(blocks, i * per_batch, 16, &last);
    ASSERT_TRUE(depot.give(c, first, last, 16)) << i;
  }
  Cached* spare = chain(blocks, fitting * per_batch, 16, &last);
  EXPECT_FALSE(depot.give(c, spare, last, 16));
  EXPECT_EQ(last->next, nullptr);
  EXPECT_EQ(depot.bytes(), fitting * per_batch * class_size(c));
}

// Givers on several threads, one taker: every block comes out exactly once.
TEST(Depot, ConcurrentGiversAndATakerLoseNothing) {
  constexpr unsigned kGivers = 3, kBatches = 20000, kBatch = 4;
  Depot depot;
  unsigned c = class_of(600);
  std::vector<std::vector<Cached>> storage(kGivers, std::vector<Cached>(kBatches * kBatch));
  std::vector<std::atomic<int>> seen(kGivers * kBatches * kBatch);
  std::atomic<unsigned> done{0};
  std::vector<std::thread> givers;
  for (unsigned g = 0; g < kGivers; ++g)
    givers.emplace_back([&, g] {
      for (unsigned b = 0; b < kBatches; ++b) {
        Cached* last = nullptr;
        Cached* first = chain(storage[g], b * kBatch, kBatch, &last);
        while (!depot.give(c, first, last, kBatch)) std::this_thread::yield();  // full: wait
      }
      done.fetch_add(1);
    });
  size_t taken = 0;
  auto take_all = [&] {
    Cached* last = nullptr;
    unsigned n;
    for (Cached* b = depot.take(c, &last, &n); b; b = b->next) {
      for (unsigned g = 0; g < kGivers; ++g) {
        if (b >= storage[g].data() && b < storage[g].data() + storage[g].size())
          seen[g * kBatches * kBatch + static_cast<size_t>(b - storage[g].data())].fetch_add(1);
      }
      ++taken;
    }
  };
  while (done.load() < kGivers) take_all();
  for (auto& t : givers) t.join();
  take_all();
  EXPECT_EQ(taken, size_t{kGivers} * kBatches * kBatch);
  for (size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i].load(), 1) << i;
  EXPECT_EQ(depot.bytes(), 0u);
}

}  // namespace
