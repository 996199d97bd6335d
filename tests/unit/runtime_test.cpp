// The exported malloc family, through the real entry points: this binary links libaixmalloc.a, so
// every allocation in the process, GoogleTest's own included, is served by aixmalloc. The
// components that need the whole runtime have their own files in the same binary (pool_test.cpp,
// multiheap_test.cpp, disclaim_test.cpp, large_blocks_test.cpp).
#include <errno.h>
#include <strings.h>
#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <new>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "libmalloc/aixmalloc.h"
#include "tests/unit/harness.h"
#include "tests/unit/runtime_harness.h"

namespace {

using aixmalloc::testing::fill;
using aixmalloc::testing::first_mismatch;
using aixmalloc::testing::launder;
using aixmalloc::testing::thread_cache_on;

TEST(Runtime, ThisProcessRunsOnAixmalloc) {
  EXPECT_EQ(aixmalloc_check(), 0);
  void* p = malloc(100);
  EXPECT_GE(mallinfo2().uordblks, 100u);
  EXPECT_GE(malloc_usable_size(p), 100u);
  free(p);
}

TEST(Runtime, MallocZeroGivesAUniquePointer) {
  void* a = malloc(0);
  void* b = malloc(0);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  free(a);
  free(b);
}

TEST(Runtime, FreePreservesErrnoAndIgnoresNull) {
  void* p = malloc(10);
  errno = 1234;
  free(p);
  free(nullptr);
  EXPECT_EQ(errno, 1234);
  void* big = malloc(64 << 20);
  errno = 4321;
  free(big);
  EXPECT_EQ(errno, 4321);
}

// Values the compiler cannot see, so that it does not reject the impossible requests at compile time.
volatile size_t g_huge = SIZE_MAX / 2;
volatile size_t g_not_a_power_of_two = 48;

TEST(Runtime, ImpossibleRequestsFailWithEnomem) {
  for (size_t n : {SIZE_MAX, SIZE_MAX / 2, size_t{1} << 50}) {
    errno = 0;
    EXPECT_EQ(malloc(n), nullptr);
    EXPECT_EQ(errno, ENOMEM);
  }
  errno = 0;
  EXPECT_EQ(calloc(g_huge, 3), nullptr);  // overflow of count * size
  EXPECT_EQ(errno, ENOMEM);
  errno = 0;
  EXPECT_EQ(reallocarray(nullptr, g_huge, 3), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  void* p = malloc(16);
  fill(p, 16, 9);
  errno = 0;
  void* same = p;
  EXPECT_EQ(realloc(launder(p), g_huge * 2 + 1), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_EQ(first_mismatch(launder(same), 16, 9), 16u);  // the old block survives a failed realloc
  free(p);
}

// glibc's table, measured on glibc 2.36 (preload.memalign_errno compares the two on this machine):
// with a size no allocator can satisfy, every power-of-two alignment up to 2^63 is ENOMEM;
// posix_memalign returns EINVAL for 1, 2 and 4 (not multiples of a pointer) and otherwise ENOMEM,
// leaving errno at ENOMEM too; memalign rounds other alignments up to 2^63 and calls anything
// above 2^63 EINVAL.
TEST(Runtime, AlignedAllocationErrnoTable) {
  for (size_t impossible : {SIZE_MAX, SIZE_MAX - 4096, size_t{1} << 63, size_t{1} << 48}) {
    volatile size_t size = impossible;  // (a constant here would be flagged by the compiler)
    for (unsigned k = 0; k < 64; ++k) {
      size_t align = size_t{1} << k;
      errno = 0;
      EXPECT_EQ(memalign(align, size), nullptr);
      EXPECT_EQ(errno, ENOMEM) << "memalign 2^" << k;
      errno = 0;
      EXPECT_EQ(aligned_alloc(align, size), nullptr);
      EXPECT_EQ(errno, ENOMEM) << "aligned_alloc 2^" << k;
      void* p = nullptr;
      errno = 0;
      EXPECT_EQ(posix_memalign(&p, align, size), k < 3 ? EINVAL : ENOMEM) << "posix_memalign 2^" << k;
      EXPECT_EQ(errno, k < 3 ? 0 : ENOMEM) << "posix_memalign 2^" << k;
    }
  }
  volatile size_t odd = (size_t{1} << 62) + 1;  // rounded up to 2^63
  volatile size_t size = SIZE_MAX - 4096;
  errno = 0;
  EXPECT_EQ(memalign(odd, size), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  for (size_t invalid : {(size_t{1} << 63) + 1, SIZE_MAX}) {
    volatile size_t a = invalid;
    errno = 0;
    EXPECT_EQ(memalign(a, size), nullptr);
    EXPECT_EQ(errno, EINVAL);
  }
}

TEST(Runtime, CallocZeroesRecycledMemory) {
  std::vector<void*> dirty;
  for (int i = 0; i < 50; ++i) {
    void* p = malloc(1000);
    memset(p, 0xab, 1000);
    dirty.push_back(p);
  }
  for (void* p : dirty) free(p);
  for (int i = 0; i < 50; ++i) {
    auto* p = static_cast<unsigned char*>(calloc(100, 10));
    ASSERT_NE(p, nullptr);
    for (int j = 0; j < 1000; ++j) ASSERT_EQ(p[j], 0) << j;
    dirty[i] = p;
  }
  for (void* p : dirty) free(p);
  auto* big = static_cast<unsigned char*>(calloc(1, 32 << 20));
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(big[0] | big[(32 << 20) - 1], 0);
  free(big);
}

// Large blocks in every configuration: those the heaps leave uncleared where they know the memory
// fresh from the system (libmalloc/base/fresh.h) must hold zeros all the same once the same memory
// was written, freed, grown by realloc and merged.
TEST(Runtime, CallocOfLargeBlocksHoldsZerosAfterTheirMemoryWasWritten) {
  const size_t sizes[] = {size_t{64} << 10, 100000, 300000, size_t{1} << 20, 3000000};
  for (int round = 0; round < 3; ++round) {
    std::vector<void*> blocks;
    for (size_t n : sizes) {
      auto* p = static_cast<unsigned char*>(calloc(1, n));
      ASSERT_NE(p, nullptr);
      size_t zeros = 0;
      while (zeros < n && p[zeros] == 0) ++zeros;
      ASSERT_EQ(zeros, n) << "round " << round << ", calloc of " << n;
      memset(p, 0xc5, n);
      blocks.push_back(p);
    }
    // Grown in place or moved, then freed: the next round's callocs reuse this memory.
    for (void*& p : blocks) {
      size_t n = malloc_usable_size(p) + 20000;
      p = realloc(p, n);
      ASSERT_NE(p, nullptr);
      memset(p, 0xc6, n);
    }
    for (void* p : blocks) free(p);
  }
}

TEST(Runtime, ReallocFollowsGlibc) {
  void* p = realloc(nullptr, 50);  // realloc(NULL, n) is malloc(n)
  ASSERT_NE(p, nullptr);
  fill(p, 50, 1);
  size_t in_use = mallinfo2().uordblks;
  errno = 0;
  EXPECT_EQ(realloc(p, 0), nullptr);  // glibc: realloc(p, 0) frees p and returns NULL
  EXPECT_LT(mallinfo2().uordblks, in_use);
  EXPECT_EQ(aixmalloc_check(), 0);
}

TEST(Runtime, ReallocAcrossSmallAndLargeBlocks) {
  size_t sizes[] = {10, 1000, 5 << 20, 64 << 20, 3 << 20, 100, 200 << 20, 20};
  void* p = nullptr;
  size_t have = 0;
  for (size_t n : sizes) {
    void* q = realloc(launder(p), n);
    ASSERT_NE(q, nullptr) << n;
    size_t keep = std::min(have, n);
    // Checking a MiB of each end is enough to see a lost or shifted copy.
    size_t head = std::min<size_t>(keep, 1 << 20);
    ASSERT_EQ(first_mismatch(q, head, 77), head) << have << " -> " << n;
    fill(q, std::min<size_t>(n, 2 << 20), 77);
    p = q;
    have = std::min<size_t>(n, 2 << 20);
  }
  free(p);
  EXPECT_EQ(aixmalloc_check(), 0);
}

TEST(Runtime, AlignedAllocationFamily) {
  void* p = nullptr;
  EXPECT_EQ(posix_memalign(&p, 0, 10), EINVAL);
  EXPECT_EQ(posix_memalign(&p, 4, 10), EINVAL);   // not a multiple of sizeof(void*)
  EXPECT_EQ(posix_memalign(&p, 24, 10), EINVAL);  // not a power of two
  for (size_t align = 8; align <= (size_t{8} << 20); align *= 2) {
    for (size_t size : {size_t{0}, size_t{1}, size_t{100}, size_t{5000}, size_t{5} << 20}) {
      ASSERT_EQ(posix_memalign(&p, align, size), 0) << align << " " << size;
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % align, 0u);
      memset(p, 1, size);
      free(p);
    }
  }
  errno = 0;
  EXPECT_EQ(aligned_alloc(g_not_a_power_of_two, 96), nullptr);
  EXPECT_EQ(errno, EINVAL);
  void* a = aligned_alloc(256, 1000);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 256, 0u);
  free(a);
  void* m = memalign(g_not_a_power_of_two, 10);  // glibc rounds 48 up to a power of two
  EXPECT_EQ(reinterpret_cast<uintptr_t>(m) % 64, 0u);
  free(m);
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* v = valloc(10);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(v) % page, 0u);
  free(v);
  void* pv = pvalloc(1);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(pv) % page, 0u);
  EXPECT_GE(malloc_usable_size(pv), page);
  free(pv);
  EXPECT_EQ(aixmalloc_check(), 0);
}

TEST(Runtime, UsableSizeCoversTheRequest) {
  EXPECT_EQ(malloc_usable_size(nullptr), 0u);
  for (size_t n : {1ul, 15ul, 16ul, 17ul, 1000ul, 100000ul, 8ul << 20}) {
    void* p = malloc(n);
    size_t u = malloc_usable_size(p);
    EXPECT_GE(u, n);
    memset(p, 0x5a, u);  // the whole usable size is ours to write
    free(p);
  }
  EXPECT_EQ(aixmalloc_check(), 0);
}

struct alignas(256) OverAligned {
  char bytes[256];
};

TEST(Runtime, CxxOperators) {
  auto* one = new int(5);
  delete one;
  auto* many = new int[1000];
  delete[] many;
  auto* aligned = new OverAligned[3];
  EXPECT_EQ(reinterpret_cast<uintptr_t>(aligned) % 256, 0u);
  delete[] aligned;
  auto* single = new OverAligned;
  EXPECT_EQ(reinterpret_cast<uintptr_t>(single) % 256, 0u);
  delete single;
  void* nt = ::operator new(100, std::nothrow);
  EXPECT_NE(nt, nullptr);
  ::operator delete(nt, std::nothrow);
  void* sized = ::operator new(64);
  ::operator delete(sized, 64);
  EXPECT_EQ(::operator new(size_t{1} << 60, std::nothrow), nullptr);
  EXPECT_THROW((void)::operator new(size_t{1} << 60), std::bad_alloc);
  EXPECT_THROW((void)::operator new[](size_t{1} << 60, std::align_val_t{64}), std::bad_alloc);
  EXPECT_EQ(aixmalloc_check(), 0);
}

TEST(Runtime, MalloptFollowsAixReturnValues) {
  void* p = malloc(1);  // allocations have happened: the policy can no longer change
  EXPECT_EQ(mallopt(AIXMALLOC_M_MXFAST, 0), 1);
  EXPECT_EQ(mallopt(AIXMALLOC_M_MALIGN, 3), 1);   // not a power of two
  EXPECT_EQ(mallopt(AIXMALLOC_M_MALIGN, 4), 1);   // smaller than a pointer
  EXPECT_EQ(mallopt(AIXMALLOC_M_MALIGN, 128), 0);
  for (int i = 0; i < 20; ++i) {
    void* q = malloc(static_cast<size_t>(i) * 7 + 1);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(q) % 128, 0u);
    free(q);
  }
  EXPECT_EQ(mallopt(AIXMALLOC_M_MALIGN, 16), 0);
  // AIX honours M_DISCLAIM under the default policy only.
  const char* type = getenv("MALLOCTYPE");
  bool yorktown = !type || strcasecmp(type, "yorktown") == 0 || strcasecmp(type, "buckets") == 0;
  EXPECT_EQ(mallopt(AIXMALLOC_M_DISCLAIM, 0), yorktown ? 0 : 1);
  EXPECT_EQ(mallopt(2, 100), 0);                 // M_NLBLKS: System V, no effect
  EXPECT_EQ(mallopt(M_TRIM_THRESHOLD, 1 << 20), 1);  // glibc tunable: accepted, glibc's success
  free(p);
  EXPECT_EQ(aixmalloc_check(), 0);
}

TEST(Runtime, StatisticsFollowAllocations) {
  struct mallinfo2 before = mallinfo2();
  std::vector<void*> blocks;
  for (int i = 0; i < 100; ++i) blocks.push_back(malloc(1000));
  void* big = malloc(16 << 20);
  struct mallinfo2 during = mallinfo2();
  EXPECT_GE(during.uordblks - before.uordblks, 100u * 1000 + (16u << 20));
  EXPECT_EQ(during.hblks, before.hblks + 1);
  EXPECT_GE(during.hblkhd, before.hblkhd + (16u << 20));
  for (void* p : blocks) free(p);
  free(big);
  struct mallinfo2 after = mallinfo2();
  EXPECT_LE(after.uordblks, before.uordblks + 4096);
  EXPECT_EQ(after.hblks, before.hblks);

  ::testing::internal::CaptureStderr();
  malloc_stats();
  std::string stats = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(stats.find("Arena 0:\nsystem bytes     ="), std::string::npos) << stats;
  EXPECT_NE(stats.find("max mmap regions ="), std::string::npos) << stats;

  char* text = nullptr;
  size_t len = 0;
  FILE* mem = open_memstream(&text, &len);
  EXPECT_EQ(malloc_info(0, mem), 0);
  fclose(mem);
  EXPECT_EQ(std::string(text).rfind("<malloc version=\"1\">", 0), 0u) << text;
  free(text);
  EXPECT_EQ(malloc_info(1, stdout), -1);
}

// Threads swap blocks through shared slots, so most blocks are freed by a thread other than the one
// that allocated them; every block's pattern is checked before it is freed.
TEST(Runtime, CrossThreadFreesUnderContention) {
  constexpr int kThreads = 4, kSlots = 512, kOps = 40000;
  std::atomic<void*> slots[kSlots] = {};
  std::atomic<bool> broken{false};
  auto worker = [&](unsigned seed) {
    std::mt19937 rng(seed);
    for (int i = 0; i < kOps; ++i) {
      size_t size = 1 + rng() % (i % 100 == 0 ? 100000 : 300);
      auto* p = static_cast<uint64_t*>(malloc(size + sizeof(uint64_t) * 2));
      p[0] = size;
      p[1] = reinterpret_cast<uintptr_t>(p) ^ 0x5555;
      memset(p + 2, static_cast<int>(size & 0xff), size);
      void* old = slots[rng() % kSlots].exchange(p);
      if (old) {
        auto* q = static_cast<uint64_t*>(old);
        auto* bytes = reinterpret_cast<unsigned char*>(q + 2);
        if (q[1] != (reinterpret_cast<uintptr_t>(q) ^ 0x5555) ||
            bytes[0] != (q[0] & 0xff) || bytes[q[0] - 1] != (q[0] & 0xff))
          broken = true;
        free(old);
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker, 100 + t);
  for (auto& t : threads) t.join();
  for (auto& s : slots) free(s.load());
  EXPECT_FALSE(broken);
  EXPECT_EQ(aixmalloc_check(), 0);
}

// Seeded random sequences through the real entry points, every block holding its own pattern,
// verified before free and after realloc, the heaps checked as it goes. Sizes reach past the
// 4 MiB threshold where blocks get ranges of their own.
TEST(Runtime, RandomSequencesThroughTheEntryPoints) {
  struct Live {
    void* p;
    size_t size;
    uint64_t seed;
  };
  for (uint64_t seed : {7ull, 99ull, 2024ull}) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    std::mt19937_64 rng(seed);
    std::vector<Live> live;
    uint64_t next_seed = seed << 24;
    auto size_of = [&] {
      switch (rng() % 20) {
        case 0:
          return static_cast<size_t>(1 + rng() % (9 << 20));
        case 1:
        case 2:
          return static_cast<size_t>(1 + rng() % 70000);
        default:
          return static_cast<size_t>(rng() % 700);
      }
    };
    for (int step = 0; step < 4000; ++step) {
      unsigned op = rng() % 10;
      if (live.empty() || op < 4) {
        size_t size = size_of();
        void* p = nullptr;
        if (op == 1) {
          p = calloc(1, size);
          for (size_t i = 0; i < size; i += 4093) ASSERT_EQ(static_cast<char*>(p)[i], 0);
        } else if (op == 2) {
          size_t align = size_t{16} << (rng() % 12);
          ASSERT_EQ(posix_memalign(&p, align, size), 0);
          ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % align, 0u);
        } else {
          p = malloc(size);
        }
        ASSERT_NE(p, nullptr);
        live.push_back({p, size, ++next_seed});
        fill(p, std::min<size_t>(size, 1 << 16), live.back().seed);
      } else if (op < 7) {
        size_t i = rng() % live.size();
        ASSERT_EQ(first_mismatch(live[i].p, std::min<size_t>(live[i].size, 1 << 16), live[i].seed),
                  std::min<size_t>(live[i].size, 1 << 16));
        free(live[i].p);
        live[i] = live.back();
        live.pop_back();
      } else {
        size_t i = rng() % live.size();
        size_t size = size_of();
        void* q = realloc(live[i].p, size);
        if (size == 0) {  // glibc: frees the block and returns NULL
          ASSERT_EQ(q, nullptr);
          live[i] = live.back();
          live.pop_back();
          continue;
        }
        ASSERT_NE(q, nullptr);
        size_t keep = std::min({size, live[i].size, size_t{1} << 16});
        ASSERT_EQ(first_mismatch(q, keep, live[i].seed), keep) << "step " << step;
        live[i] = {q, size, ++next_seed};
        fill(q, std::min<size_t>(size, 1 << 16), live[i].seed);
      }
      if (step % 250 == 0) {
        ASSERT_EQ(aixmalloc_check(), 0) << "step " << step;
      }
    }
    for (const Live& b : live) free(b.p);
    ASSERT_EQ(aixmalloc_check(), 0);
  }
}

// The lock counter itself counts: a request the heaps serve takes a lock.
TEST(Runtime, LockCounterSeesHeapRequests) {
  unsigned long locks = aixmalloc_thread_lock_count();
  void* p = malloc(100000);
  free(p);
  EXPECT_GT(aixmalloc_thread_lock_count(), locks);
}

// Producers allocate, consumers free (remote frees for the pool and the thread cache): every block
// arrives intact, and nothing is lost or handed out twice (patterns would collide).
TEST(Runtime, ProducersAllocateConsumersFree) {
  constexpr int kPairs = 2, kBlocks = 400000, kRing = 1024;
  struct Ring {
    std::atomic<uint64_t*> slot[kRing] = {};
  };
  std::vector<Ring> rings(kPairs);
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int pair = 0; pair < kPairs; ++pair) {
    Ring* ring = &rings[static_cast<size_t>(pair)];
    threads.emplace_back([ring, pair] {
      for (int i = 0; i < kBlocks; ++i) {
        size_t words = 2 + static_cast<size_t>((i * 13 + pair) % (i % 64 == 0 ? 600 : 60));
        auto* b = static_cast<uint64_t*>(malloc(words * 8));
        b[0] = words;
        for (size_t w = 1; w < words; ++w) b[w] = static_cast<uint64_t>(i) * 31 + w;
        std::atomic<uint64_t*>& s = ring->slot[i % kRing];
        uint64_t* expected = nullptr;
        while (!s.compare_exchange_weak(expected, b)) {
          expected = nullptr;
          std::this_thread::yield();
        }
      }
    });
    threads.emplace_back([ring, &bad] {
      for (int i = 0; i < kBlocks; ++i) {
        std::atomic<uint64_t*>& s = ring->slot[i % kRing];
        uint64_t* b;
        while ((b = s.exchange(nullptr)) == nullptr) std::this_thread::yield();
        for (size_t w = 1; w < b[0]; ++w)
          if (b[w] != static_cast<uint64_t>(i) * 31 + w) bad = 1;
        free(b);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(aixmalloc_check(), 0);
}

// The blocks a consumer thread frees go back to the producer's heap through its depot, and the
// producer takes them as a batch without the heap's lock: its second round of requests reuses the
// very blocks the consumer freed and takes a handful of locks where the first round took one per
// batch of four.
TEST(Runtime, ConsumerFreesReachTheProducerWithoutItsLock) {
  if (!thread_cache_on()) GTEST_SKIP() << "runs where the thread cache is on";
  malloc_trim(0);  // empties the depots, so the first round starts from the heap
  constexpr int kBlocks = 64;
  constexpr size_t kSize = 2000;  // the thread cache's 2048-byte class: 8 cached, batches of 4
  unsigned long first_round = 0, second_round = 0;
  int reused = 0;
  std::thread([&] {
    std::vector<void*> blocks;
    unsigned long locks = aixmalloc_thread_lock_count();
    for (int i = 0; i < kBlocks; ++i) blocks.push_back(malloc(kSize));
    first_round = aixmalloc_thread_lock_count() - locks;
    std::thread([&blocks] {
      for (void* p : blocks) free(p);
    }).join();
    locks = aixmalloc_thread_lock_count();
    std::vector<void*> again;
    for (int i = 0; i < kBlocks; ++i) again.push_back(malloc(kSize));
    second_round = aixmalloc_thread_lock_count() - locks;
    for (void* p : again) {
      for (void* q : blocks) reused += p == q;
      free(p);
    }
  }).join();
  EXPECT_GE(first_round, 8u) << "the lock counter did not see the batches taken from the heap";
  EXPECT_LE(second_round, 4u) << "the producer took its freed blocks back under the heap's lock";
  EXPECT_GE(reused, kBlocks * 3 / 4) << "the consumer's frees did not come back to the producer";
  EXPECT_EQ(aixmalloc_check(), 0);
}

// A thread exits while others still hold its blocks: they stay valid, are freed later by another
// thread, and the exited thread's pool and cache serve the next thread.
TEST(Runtime, BlocksOutliveTheThreadThatAllocatedThem) {
  for (int round = 0; round < 20; ++round) {
    std::vector<char*> blocks;
    std::thread([&blocks, round] {
      for (int i = 0; i < 2000; ++i) {
        size_t size = 1 + static_cast<size_t>(i * 37 % 3000);
        char* p = static_cast<char*>(malloc(size));
        memset(p, (round + i) & 0xff, size);
        blocks.push_back(p);
      }
    }).join();
    std::thread([&blocks, round] {
      for (size_t i = 0; i < blocks.size(); ++i) {
        size_t size = 1 + i * 37 % 3000;
        ASSERT_EQ(static_cast<unsigned char>(blocks[i][size - 1]), (round + i) & 0xff);
        free(blocks[i]);
      }
    }).join();
  }
  EXPECT_EQ(aixmalloc_check(), 0);
}

using RuntimeDeathTest = ::testing::Test;

TEST(RuntimeDeathTest, FreeOfAStackPointer) {
  int local = 0;
  EXPECT_DEATH(free(launder(&local)),
               "^aixmalloc: free\\(\\): invalid pointer 0x[0-9a-f]+: not owned by this allocator\n");
}

TEST(RuntimeDeathTest, DoubleFree) {
  EXPECT_DEATH(
      {
        void* p = malloc(100);
        void* guard = malloc(100);
        free(p);
        free(launder(p));
        free(guard);
      },
      "^aixmalloc: free\\(\\): double free of 0x[0-9a-f]+\n");
}

TEST(RuntimeDeathTest, DoubleFreeOfASmallBlock) {
  EXPECT_DEATH(
      {
        void* p = malloc(24);
        free(p);
        free(launder(p));
      },
      "^aixmalloc: free\\(\\): double free of 0x[0-9a-f]+\n");
}

TEST(RuntimeDeathTest, FreeOfAnInteriorPointer) {
  EXPECT_DEATH(
      {
        char* p = static_cast<char*>(malloc(1000));
        memset(p, 0, 1000);
        free(launder(p + 64));
      },
      "^aixmalloc: free\\(\\): invalid pointer 0x[0-9a-f]+: not the start of an allocated block\n");
}

// The same in a block of a page of its class's own (under watson2, past the mixed page, whose
// blocks a class has only for its first 4 KiB): the page's own block-start test refuses it.
TEST(RuntimeDeathTest, FreeOfAnInteriorPointerOfABusyClass) {
  EXPECT_DEATH(
      {
        char* last = nullptr;
        for (int i = 0; i < 64; ++i) last = static_cast<char*>(malloc(1000));  // 62.5 KiB, kept
        memset(last, 0, 1000);
        free(launder(last + 64));
      },
      "^aixmalloc: free\\(\\): invalid pointer 0x[0-9a-f]+: not the start of an allocated block\n");
}

TEST(RuntimeDeathTest, ReallocOfAFreedBlock) {
  EXPECT_DEATH(
      {
        void* p = malloc(100);
        void* guard = malloc(100);
        free(p);
        void* q = realloc(launder(p), 200);
        free(q);
        free(guard);
      },
      "^aixmalloc: realloc\\(\\): double free of 0x[0-9a-f]+\n");
}

TEST(RuntimeDeathTest, DeleteOfAForeignPointer) {
  static char not_from_new[64];
  EXPECT_DEATH(::operator delete(launder(not_from_new + 16)),
               "^aixmalloc: operator delete\\(\\): invalid pointer 0x[0-9a-f]+: not owned by this "
               "allocator\n");
}

}  // namespace
