// MALLOCOPTIONS=multiheap through the exported malloc: threads that collide spread over the heaps,
// a block goes back to the heap it came from, and mallinfo_heap describes each heap. Runs under
// every configuration of the runtime's executable (one heap without multiheap).
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "libmalloc/aixmalloc.h"
#include "tests/unit/runtime_harness.h"

namespace {

using aixmalloc::testing::configured;

// With multiheap, threads that collide spread over several heaps; a block freed by any thread goes
// back to the heap it came from.
TEST(Multiheap, SpreadsThreadsAndFreesGoToTheOwner) {
  int heaps = aixmalloc_heap_count();
  if (!configured("multiheap")) {
    EXPECT_EQ(heaps, 1);
    EXPECT_EQ(mallinfo_heap(1).acquired, 0u);
    return;
  }
  ASSERT_GT(heaps, 1);
  constexpr int kThreads = 4, kBlocks = 20000;
  std::vector<std::vector<void*>> blocks(kThreads);
  std::vector<std::thread> threads;
  // All four are alive at once: a thread that started after another had exited would take over
  // its heap (by design: a program that replaces its threads keeps its heaps).
  std::atomic<int> started{0}, finished{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&blocks, &started, &finished, t] {
      started.fetch_add(1);
      while (started.load() < kThreads) std::this_thread::yield();
      for (int i = 0; i < kBlocks; ++i) {
        void* p = malloc(64 + (i % 7) * 100);
        memset(p, t, 64);
        blocks[t].push_back(p);
        if (i % 3 == 0) {  // churn so the threads collide on the heap locks
          free(blocks[t].back());
          blocks[t].pop_back();
        }
      }
      finished.fetch_add(1);
      while (finished.load() < kThreads) std::this_thread::yield();
    });
  }
  for (auto& t : threads) t.join();
  int used = 0;
  for (int h = 0; h < heaps; ++h) used += mallinfo_heap(h).acquired > 0;
  EXPECT_GE(used, 2) << "four threads allocating at once all used one heap";
  std::vector<unsigned long> net_before(static_cast<size_t>(heaps));
  for (int h = 0; h < heaps; ++h) net_before[static_cast<size_t>(h)] = mallinfo_heap(h).netalloc;
  // Another thread frees every block, then exits (which gives back its thread cache, if any): each
  // heap's allocated bytes fall, none rises.
  std::thread([&blocks] {
    for (auto& v : blocks) {
      for (void* p : v) free(p);
    }
  }).join();
  int fell = 0;
  for (int h = 0; h < heaps; ++h) {
    EXPECT_LE(mallinfo_heap(h).netalloc, net_before[static_cast<size_t>(h)]) << "heap " << h;
    fell += mallinfo_heap(h).netalloc < net_before[static_cast<size_t>(h)];
  }
  EXPECT_GE(fell, 2);
  EXPECT_EQ(aixmalloc_check(), 0);
}

TEST(Multiheap, MallinfoHeapDescribesEachHeap) {
  void* p = malloc(5000);
  struct mallinfo_heap h0 = mallinfo_heap(0);
  EXPECT_GT(h0.acquired, 0u);
  EXPECT_EQ(h0.netalloc + h0.bytes_free, h0.acquired);
  EXPECT_LE(h0.root_sz, h0.bytes_free);
  EXPECT_GT(h0.blks_alloc, 0u);
  struct mallinfo_heap none = mallinfo_heap(aixmalloc_heap_count());
  EXPECT_EQ(none.acquired + none.netalloc + none.bytes_free + none.root_sz + none.blks_alloc, 0u);
  EXPECT_EQ(mallinfo_heap(-1).acquired, 0u);
  free(p);
}

}  // namespace
