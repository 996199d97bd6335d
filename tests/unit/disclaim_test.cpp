// Memory given back to the system through the exported malloc: MALLOCOPTIONS=disclaim (and the 3.1
// policy, which returns the pages of large freed blocks by itself) shrink a program that freed its
// memory; malloc_trim gives back every whole free page under any configuration.
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "libmalloc/aixmalloc.h"
#include "tests/unit/runtime_harness.h"

namespace {

using aixmalloc::testing::configured;
using aixmalloc::testing::resident_bytes;

// With disclaim, a program that frees what it allocated shrinks back (once the memory has stayed
// free a second, at its next free); without, the heap keeps its pages, as AIX's heap, which only
// ever grows its break, does.
TEST(Disclaim, GivesFreedPagesBack) {
  // 3.1 gives back the pages of every freed block of a page or more by itself, as AIX's does;
  // watson2 has disclaim on by default.
  const char* type = getenv("MALLOCTYPE");
  bool shrinks = configured("disclaim") || (type && (strstr(type, "3.1") || strcasecmp(type, "watson2") == 0));
  size_t start = resident_bytes();
  std::vector<void*> blocks;
  std::mt19937 rng(5);
  size_t total = 0;
  while (total < (256u << 20)) {
    size_t size = (64u << 10) + rng() % (960u << 10);
    void* p = malloc(size);
    memset(p, 1, size);
    blocks.push_back(p);
    total += size;
  }
  size_t peak = resident_bytes();
  EXPECT_GT(peak - start, 200u << 20);
  for (void* p : blocks) free(p);
  // With disclaim (and under 3.1), memory that stayed free for a second goes back at the next free.
  if (shrinks) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    free(malloc(200000));  // a large block: under 3.1, the free of a large block returns pages
  }
  size_t after = resident_bytes();
  if (shrinks) {
    EXPECT_LT(after, start + (8u << 20)) << "start " << start << " peak " << peak;
  } else {
    EXPECT_GT(after, start + (200u << 20)) << "start " << start << " peak " << peak;
  }
  malloc_trim(0);  // gives it all back in either case
  EXPECT_LT(resident_bytes(), start + (8u << 20));
}

long minor_faults() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

// A program that takes the same buffers every round, touches every page and frees them all, half
// at a time (tools/bench's reuse workload, in rounds of a quarter of a second): with disclaim, what
// its first round frees beyond the heap's reserve goes back at once, and the heap then keeps the
// loop's pages for as long as the loop runs, past the one-second return too (their pages have
// been free for a fraction of a second each time): from the third round on, a round faults in
// next to nothing, and the resident size stops growing once the second round has placed the
// buffers (Watson places them anew in its second round: a few MiB more, with or without
// disclaim). Once the loop stops, its memory goes back a second later, at the next free. The
// same after an earlier phase of the program has freed 64 MiB.
TEST(Disclaim, ReuseLoopKeepsItsPagesUntilItStops) {
  if (!configured("disclaim")) GTEST_SKIP() << "without disclaim the heap keeps its pages anyway";
  std::mt19937 rng(11);
  std::vector<size_t> sizes;
  size_t total = 0;
  while (total < (32u << 20)) {  // more than the first reserve: the first round gives some back
    sizes.push_back((64u << 10) + rng() % (448u << 10));
    total += sizes.back();
  }
  std::vector<char*> bufs(sizes.size());
  size_t start = resident_bytes(), placed = 0, peak = 0;
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  // An earlier phase of the program freed 64 MiB and was quiet for a second (its next free gave
  // back the reserve): what it gave back is not the loop's, and does not hold back the reserve's
  // growth.
  std::vector<void*> earlier(64);
  for (void*& p : earlier) p = memset(malloc(1u << 20), 1, 1u << 20);
  for (void* p : earlier) free(p);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  free(malloc(200000));
  for (int round = 0; round < 10; ++round) {
    long before = minor_faults();
    for (size_t i = 0; i < sizes.size(); ++i) {
      bufs[i] = static_cast<char*>(malloc(sizes[i]));
      for (size_t at = 0; at < sizes[i]; at += page) bufs[i][at] = static_cast<char>(round + 1);
    }
    long faults = minor_faults() - before;
    if (round < 2) {
      placed = std::max(placed, resident_bytes());
    } else {
      peak = std::max(peak, resident_bytes());
      // At most a block's pages and a few more: the one-second return, when it comes as a round
      // starts freeing, takes the first block freed (what has been free for a second: nothing).
      EXPECT_LT(faults, static_cast<long>((1u << 20) / page)) << "round " << round;
    }
    for (size_t i = 0; i < sizes.size(); ++i) {
      ASSERT_EQ(bufs[i][sizes[i] - 1 - (sizes[i] - 1) % page], static_cast<char>(round + 1));
      free(bufs[i]);
      if (i == sizes.size() / 2) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  EXPECT_LT(placed, start + total + (8u << 20)) << "start " << start;
  EXPECT_LE(peak, placed + (1u << 20)) << "start " << start;
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  free(malloc(200000));
  EXPECT_LT(resident_bytes(), start + (8u << 20)) << "start " << start;
}

TEST(Disclaim, TrimGivesFreePagesBack) {
  void* p = malloc(2 << 20);
  void* sep = malloc(16);
  memset(p, 1, 2 << 20);
  free(p);
  EXPECT_EQ(malloc_trim(0), 1);
  free(sep);
  EXPECT_EQ(aixmalloc_check(), 0);
}

}  // namespace
