// The thread cache (options/threadcache.h) through the exported malloc: what a thread keeps of the
// blocks it frees. These tests run in the runtime's executable under every configuration and act
// where the thread cache is on.
#include <malloc.h>
#include <stdlib.h>

#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "libmalloc/aixmalloc.h"
#include "libmalloc/base/platform.h"
#include "tests/unit/harness.h"
#include "tests/unit/runtime_harness.h"

namespace {

using aixmalloc::testing::thread_cache_on;

// Bytes the heaps count as allocated: the program's blocks and the blocks the thread caches hold.
long held_by_heaps() {
  long held = 0;
  for (int h = 0; h < aixmalloc_heap_count(); ++h) held += static_cast<long>(mallinfo_heap(h).netalloc);
  return held;
}

// A thread that frees another thread's blocks, of sizes it never allocates (the consumer of a
// pipeline, each thread of a ring), keeps at most about 100 KiB of them (aixmalloc(7), threadcache):
// the rest go back to the heaps while it frees, where other threads' requests of any size reuse
// them. (It used to keep up to 256 KiB, its whole budget.)
TEST(ThreadCacheRuntime, AConsumerKeepsLittleOfWhatItFrees) {
  if (!thread_cache_on()) GTEST_SKIP() << "runs where the thread cache is on";
  constexpr int kBlocks = 1024;
  std::vector<void*> blocks;
  long bytes = 0;  // the blocks' bytes in their heaps, prefix included
  std::thread([&] {
    unsigned x = 12345;
    for (int i = 0; i < kBlocks; ++i) {
      x = x * 1103515245u + 12345u;
      size_t size = 600 + (x >> 8) % 3400;  // the cache's sizes, 600 .. 3999 bytes
      void* p = malloc(size);
      ASSERT_NE(p, nullptr);
      bytes += static_cast<long>(malloc_usable_size(p) + aixmalloc::kHeaderSize);
      blocks.push_back(p);
    }
  }).join();  // its own cache went back to the heaps when it exited
  const long before = held_by_heaps();
  long kept = 0;
  std::thread([&] {
    for (void* p : blocks) free(p);
    kept = held_by_heaps() + bytes - before;  // measured while the consumer's cache is alive
  }).join();
  EXPECT_LE(kept, 128 << 10) << "bytes of the " << bytes << " freed that the consumer kept";
  EXPECT_EQ(aixmalloc_check(), 0);
}

}  // namespace
