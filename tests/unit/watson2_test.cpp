// Watson2's heaps of small blocks, driven directly (this process's own malloc is the system's, so
// the suite also runs under ThreadSanitizer): frees from other threads in every size class, threads
// that come and go in phases while their blocks move on, and what the figures say afterwards.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <set>
#include <sys/single_threaded.h>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "policies/watson2.h"
#include "policies/watson2_classes.h"
#include "tests/unit/harness.h"

namespace aixmalloc::testing {
namespace {

namespace w2 = aixmalloc::watson2;

// Each block carries its own pattern (harness.h), written at allocation and checked before its free.

class Watson2 : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(w2::configure()); }
};

// Every size, rounded to its class, is a distinct 16-byte-aligned block of the area with at least
// the requested usable size; the class table is monotonic.
TEST_F(Watson2, SizesMapToClassesThatHoldThem) {
  size_t last = 0;
  for (size_t size = 0; size <= w2::kMaxSmall; ++size) {
    void* p = w2::allocate(size);
    ASSERT_NE(p, nullptr);
    ASSERT_TRUE(w2::owns(p));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u);
    size_t usable = w2::usable_size(p);
    ASSERT_GE(usable, size);
    ASSERT_GE(usable, last);
    last = usable;
    // A class wastes at most a quarter of its block (16 bytes for the smallest).
    EXPECT_LE(usable - size, usable / 4 > 16 ? usable / 4 : 16) << size;
    w2::release(p, "free");
  }
}

// free's block-start test, one multiply and one compare, against a division: for every class and
// every offset in a page, with none, one, half and all of the page's blocks carved, an offset is
// taken for block k iff it is a multiple of the size with k below the carved count, and
// block_number() is the quotient.
TEST(Watson2Page, BlockStartTestAgreesWithADivision) {
  w2::Page page{};
  for (unsigned c = 0; c < w2::kClasses; ++c) {
    uint32_t size = w2::kSizes[c], capacity = static_cast<uint32_t>(w2::kPageSize / size);
    page.size = static_cast<uint16_t>(size);
    page.magic = w2::magic_for(size);
    for (uint32_t carved : {0u, 1u, capacity / 2, capacity}) {
      w2::set_carved(&page, carved);
      uint32_t taken = 0;
      for (uintptr_t o = 0; o < w2::kPageSize; ++o) {
        const void* p = reinterpret_cast<const void*>(0x7f0000000000 + o);
        bool start = o % size == 0 && o / size < carved;
        ASSERT_EQ(w2::is_block_start(&page, p), start) << "size " << size << " offset " << o << " carved " << carved;
        if (start) {
          ++taken;
          ASSERT_EQ(w2::block_number(&page, p), o / size) << "size " << size << " offset " << o;
        }
      }
      EXPECT_EQ(taken, carved) << size;
    }
  }
}

// A thread frees blocks of every class that other threads allocated: each block is intact, and
// the owners get every block back (their pages empty out and the memory is reused, not grown).
TEST_F(Watson2, CrossThreadFreesOfEveryClass) {
  constexpr unsigned kProducers = 3;
  constexpr unsigned kRounds = 40;
  constexpr unsigned kPerRound = 9000;  // ~1.1 million blocks in all
  struct Slot {
    std::atomic<void*> p{nullptr};
    size_t size = 0;
    uint64_t seed = 0;
  };
  std::vector<Slot> slots(kProducers * kPerRound);
  std::atomic<unsigned> ready{0}, consumed{0};
  std::atomic<uint64_t> bad{0}, freed{0}, own_class_blocks{0};
  auto producer = [&](unsigned t) {
    for (unsigned r = 0; r < kRounds; ++r) {
      while (consumed.load(std::memory_order_acquire) < r) std::this_thread::yield();
      for (unsigned i = 0; i < kPerRound; ++i) {
        Slot& s = slots[t * kPerRound + i];
        size_t size = 1 + (static_cast<size_t>(i) * 2654435761u + r * 977) % w2::kMaxSmall;
        if (i % 32 != 0) size = 1 + size % 512;  // most blocks small, as in programs
        void* p = w2::allocate(size);
        if (p == nullptr) {
          bad.fetch_add(1);
          continue;
        }
        // Blocks of the shared classes go back to the pages every thread shares, not to their
        // producer's heap: the others are its remote frees.
        if (r + 1 < kRounds && w2::class_of(size) < w2::kFirstShared) own_class_blocks.fetch_add(1);
        s.size = size < 64 ? size : 64;
        s.seed = t * 1000003u + r * 7919u + i;
        fill(p, s.size, s.seed);
        s.p.store(p, std::memory_order_release);
      }
      ready.fetch_add(1, std::memory_order_acq_rel);
    }
  };
  std::thread consumer([&] {
    for (unsigned r = 0; r < kRounds; ++r) {
      while (ready.load(std::memory_order_acquire) < (r + 1) * kProducers) std::this_thread::yield();
      for (Slot& s : slots) {
        void* p = s.p.exchange(nullptr, std::memory_order_acq_rel);
        if (p == nullptr) continue;
        if (!intact(p, s.size, s.seed)) bad.fetch_add(1);
        w2::release(p, "free");
        freed.fetch_add(1, std::memory_order_relaxed);
      }
      consumed.store(r + 1, std::memory_order_release);
    }
  });
  std::vector<std::thread> producers;
  for (unsigned t = 0; t < kProducers; ++t) producers.emplace_back(producer, t);
  for (auto& t : producers) t.join();
  consumer.join();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_EQ(freed.load(), uint64_t{kProducers} * kRounds * kPerRound);
  w2::trim();  // takes back what was freed into the exited producers' heaps
  Watson2Figures f;
  w2::totals(&f);
  // Every round's frees are back with their owners, but perhaps the last one's: a free that came
  // as its producer was leaving waits in the abandoned heap until a thread adopts it.
  EXPECT_GE(f.remote_frees, own_class_blocks.load());
  EXPECT_GE(own_class_blocks.load(), uint64_t{kProducers} * (kRounds - 1) * kPerRound * 9 / 10);
  // One round's blocks at a time are live (27,000 blocks, about 12 MiB): the pages stay within a
  // small multiple of that instead of growing with the 40 rounds.
  EXPECT_LE(f.bytes_in_pages, size_t{48} << 20);
}

// Blocks of 1 KiB and more come from pages that every thread shares: a thread that frees another
// thread's blocks and then allocates as many of the same size reuses their memory while the other
// thread still runs, where heaps of their own would hold both sets (and a pattern of threads that
// pass such blocks around would hold the busiest moment of each thread and class). The thread's
// cache of shared blocks goes back at its exit, and the figures count every block once.
TEST_F(Watson2, SharedClassesReuseAnotherThreadsFrees) {
  constexpr unsigned kBlocks = 256;
  constexpr size_t kSize = 8000;  // 256 blocks of the 8 KiB class: 2 MiB
  ASSERT_GE(w2::class_of(kSize), w2::kFirstShared);
  ASSERT_EQ(w2::class_of(kSize), w2::class_of(8192));
  std::thread([] {}).join();  // the process has had a second thread: the classes are shared
  w2::trim();
  Watson2Figures before;
  w2::totals(&before);
  std::vector<void*> blocks(kBlocks);
  std::atomic<int> step{0};
  std::atomic<uint64_t> bad{0};
  std::thread a([&] {
    for (unsigned i = 0; i < kBlocks; ++i) {
      blocks[i] = w2::allocate(kSize);
      if (blocks[i] == nullptr) return bad.fetch_add(1), step.store(1), void();
      fill(blocks[i], kSize, i);
    }
    step.store(1, std::memory_order_release);
    while (step.load(std::memory_order_acquire) != 2) std::this_thread::yield();  // alive meanwhile
  });
  Watson2Figures held;
  std::thread b([&] {
    while (step.load(std::memory_order_acquire) != 1) std::this_thread::yield();
    for (unsigned i = 0; i < kBlocks; ++i) {
      if (blocks[i] && !intact(blocks[i], kSize, i)) bad.fetch_add(1);
      w2::release(blocks[i], "free");
    }
    for (unsigned i = 0; i < kBlocks; ++i) {
      blocks[i] = w2::allocate(kSize);
      if (blocks[i] == nullptr) return bad.fetch_add(1), void();
      fill(blocks[i], kSize, i + kBlocks);
    }
    w2::totals(&held);
    for (unsigned i = 0; i < kBlocks; ++i) {
      if (!intact(blocks[i], kSize, i + kBlocks)) bad.fetch_add(1);
      w2::release(blocks[i], "free");
    }
  });
  b.join();
  step.store(2, std::memory_order_release);
  a.join();
  EXPECT_EQ(bad.load(), 0u);
  size_t one_set = kBlocks * size_t{8192};
  EXPECT_LE(held.bytes_in_pages, before.bytes_in_pages + one_set + one_set / 8 + 2 * w2::kPageSize)
      << "the second thread's blocks reused the first one's memory";
  EXPECT_EQ(held.shared_classes, w2::kClasses - w2::kFirstShared) << "no class was contended";
  Watson2Figures after;
  w2::totals(&after);
  EXPECT_EQ(after.bytes_in_use, before.bytes_in_use) << "every block counted out and back once";
  EXPECT_EQ(after.allocations - before.allocations, 2 * kBlocks);
}

// Threads in phases: 8 phases of 8 threads. Each thread of a phase checks and frees half of the
// blocks of its counterpart in the previous phase (blocks of threads that have exited), hands the
// other half on, and allocates its own. Every block's pattern is checked; at the end, the pages
// of the heaps hold at most twice the live bytes plus a little per heap.
TEST_F(Watson2, ThreadsInPhasesHandBlocksOn) {
  constexpr unsigned kPhases = 8, kThreads = 8, kPerThread = 3000;
  struct Live {
    void* p;
    size_t size;
    uint64_t seed;
  };
  std::vector<std::vector<Live>> carried(kThreads);
  std::atomic<uint64_t> bad{0};
  for (unsigned phase = 0; phase < kPhases; ++phase) {
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t, phase] {
        std::vector<Live>& mine = carried[t];
        std::vector<Live> keep;
        for (size_t i = 0; i < mine.size(); ++i) {
          if (!intact(mine[i].p, mine[i].size, mine[i].seed)) bad.fetch_add(1);
          if (i % 2 == 0) {
            w2::release(mine[i].p, "free");
          } else {
            keep.push_back(mine[i]);
          }
        }
        for (unsigned i = 0; i < kPerThread; ++i) {
          size_t size = 8 + (i * 40503u + phase * 131u + t) % (i % 128 == 0 ? w2::kMaxSmall - 8 : 600);
          void* p = w2::allocate(size);
          if (p == nullptr) {
            bad.fetch_add(1);
            continue;
          }
          uint64_t seed = phase * 100000u + t * 10000u + i;
          fill(p, size, seed);
          keep.push_back({p, size, seed});
        }
        mine.swap(keep);
      });
    }
    for (auto& th : threads) th.join();
    // Hand every thread's blocks to another one of the next phase.
    std::rotate(carried.begin(), carried.begin() + 1, carried.end());
  }
  EXPECT_EQ(bad.load(), 0u);
  uint64_t live = 0;
  for (auto& v : carried)
    for (Live& l : v) live += w2::usable_size(l.p);
  EXPECT_GE(w2::trim(), 0u);  // the pages emptied by the last frees go back
  Watson2Figures f;
  w2::totals(&f);
  EXPECT_LE(f.heaps, kThreads + 2) << "exited threads' heaps are adopted, not multiplied";
  EXPECT_LE(f.bytes_in_pages, 2 * live + f.heaps * 36 * w2::kPageSize) << "live " << live;
  for (auto& v : carried)
    for (Live& l : v) {
      EXPECT_TRUE(intact(l.p, l.size, l.seed));
      w2::release(l.p, "free");
    }
}

// A heap's first blocks of each class come from its mixed page, in slices, while the process has
// one thread: its first thread, asking for a block of every class up to 896 bytes, touches a few
// system pages of one page of the area, not a page for each of the 29 classes. The blocks are
// distinct and intact; one its own thread frees is the next of its class, one another thread frees
// comes back once the owner takes it back; and past its slices a class has pages of its own.
TEST_F(Watson2, AHeapsFirstBlocksShareItsMixedPage) {
  if (!__libc_single_threaded) GTEST_SKIP() << "needs a process that has not started a thread (ctest runs each test alone)";
  {
    std::vector<std::pair<void*, size_t>> blocks;
    std::set<uintptr_t> area_pages, system_pages;
    for (size_t size = 16; size <= 896; size += 16) {
      if (!blocks.empty() && w2::class_of(size) == w2::class_of(blocks.back().second)) continue;
      void* p = w2::allocate(size);
      ASSERT_NE(p, nullptr);
      ASSERT_GE(w2::usable_size(p), size);
      fill(p, size, size);
      blocks.emplace_back(p, size);
      area_pages.insert(reinterpret_cast<uintptr_t>(p) >> w2::kPageShift);
      system_pages.insert(reinterpret_cast<uintptr_t>(p) >> 12);
    }
    EXPECT_EQ(area_pages.size(), 1u);
    EXPECT_LE(system_pages.size(), 5u);  // 29 slices: 17 of about 256 bytes, 12 of one block
    for (auto [p, size] : blocks) EXPECT_TRUE(intact(p, size, size)) << size;
    auto [mine, mine_size] = blocks[20];  // 416 bytes
    w2::release(mine, "free");
    EXPECT_EQ(w2::allocate(mine_size), mine);
    void* theirs = blocks[3].first;  // 64 bytes
    std::thread([theirs] { w2::release(theirs, "free"); }).join();
    bool back = false;
    std::vector<void*> more;
    for (int i = 0; i < 64 && !back; ++i) {
      more.push_back(w2::allocate(64));
      back = more.back() == theirs;
    }
    EXPECT_TRUE(back) << "a block another thread freed was not reused";
    for (void* p : more) w2::release(p, "free");
    // The rest of the class's slice, then a page of its own (the process has had a second thread:
    // no more slices).
    std::set<uintptr_t> pages_of_class;
    more.clear();
    for (int i = 0; i < 256; ++i) {
      more.push_back(w2::allocate(64));
      pages_of_class.insert(reinterpret_cast<uintptr_t>(more.back()) >> w2::kPageShift);
    }
    EXPECT_EQ(pages_of_class.size(), 2u);
    EXPECT_EQ(pages_of_class.count(*area_pages.begin()), 1u);
    for (void* p : more) w2::release(p, "free");
    // A class in steady use leaves the mixed page: after a few thousand pairs of malloc and free,
    // its blocks come from a page of its own.
    void* last = nullptr;
    for (int i = 0; i < 3000; ++i) {
      last = w2::allocate(48);
      w2::release(last, "free");
    }
    EXPECT_NE(reinterpret_cast<uintptr_t>(last) >> w2::kPageShift, *area_pages.begin());
    for (auto [p, size] : blocks)
      if (p != theirs) w2::release(p, "free");
  }
}

}  // namespace
}  // namespace aixmalloc::testing
