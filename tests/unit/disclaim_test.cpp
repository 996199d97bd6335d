// Memory given back to the system through the exported malloc: MALLOCOPTIONS=disclaim (and the 3.1
// policy, which returns the pages of large freed blocks by itself) shrink a program that freed its
// memory; malloc_trim gives back every whole free page under any configuration.
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

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
