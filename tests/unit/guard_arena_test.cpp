// The guard arena of catch_overflow (options/guard_arena.h): where a block is placed against its
// guard page, what the records say of a pointer (live, double free, interior, foreign), the
// quarantine's bound, reuse by size class, and the mprotect fallback's limit: past
// vm.max_map_count it serves no more guarded blocks, says so once, and never fails otherwise.
#include "options/guard_arena.h"

#include <setjmp.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "libmalloc/base/address_map.h"
#include "libmalloc/base/os.h"
#include "libmalloc/base/platform.h"

namespace aixmalloc::guard {
namespace {

sigjmp_buf g_jump;
void on_segv(int) { siglongjmp(g_jump, 1); }

// True when touching the byte faults (read or write).
bool faults(volatile char* p, bool write) {
  struct sigaction sa {}, old {};
  sa.sa_handler = on_segv;
  sigaction(SIGSEGV, &sa, &old);
  bool fault = false;
  if (sigsetjmp(g_jump, 1) == 0) {
    if (write) *p = 1;
    else (void)*p;
  } else {
    fault = true;
  }
  sigaction(SIGSEGV, &old, nullptr);
  return fault;
}

class GuardArena : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Settings s;
    s.align = 16;
    s.postfree_checking = true;
    s.quarantine_bytes = size_t{1} << 20;
    ASSERT_TRUE(configure(s));
  }
};

TEST_F(GuardArena, BlocksEndAtTheirGuardPage) {
  size_t page = page_size();
  for (size_t size : {size_t{1}, size_t{13}, size_t{16}, size_t{100}, page - 1, page, page + 1, size_t{100000}}) {
    // The arena was configured with align:16: ordinary requests (alignment 16 or less) get it,
    // aligned ones their own.
    for (size_t align : {size_t{1}, size_t{16}, size_t{64}, size_t{4096}}) {
      size_t effective = align <= 16 ? 16 : align;
      char* p = static_cast<char*>(allocate(size, align));
      ASSERT_NE(p, nullptr) << size;
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % effective, 0u);
      size_t usable = usable_size(p);
      EXPECT_GE(usable, size);
      EXPECT_LT(usable - size, effective);
      EXPECT_EQ(requested_size(p), size);
      EXPECT_EQ(address_map().lookup(p).kind(), OwnerKind::kGuarded);
      memset(p, 0x5a, usable);  // all of it is usable
      EXPECT_TRUE(faults(p + usable, true)) << size << " " << align;
      EXPECT_TRUE(faults(p + usable, false));
      BlockInfo b;
      EXPECT_EQ(classify(reinterpret_cast<uintptr_t>(p + usable), &b), Site::kPastEnd);
      EXPECT_EQ(b.user, reinterpret_cast<uintptr_t>(p));
      EXPECT_EQ(b.size, size);
      release(p);
    }
  }
}

TEST_F(GuardArena, RecordsTellLiveDoubleInteriorAndForeignPointers) {
  char* p = static_cast<char*>(allocate(40, 16));
  BlockInfo b;
  EXPECT_EQ(check(p, &b), Verdict::kLive);
  EXPECT_EQ(check(p + 8, &b), Verdict::kInterior);
  EXPECT_EQ(b.user, reinterpret_cast<uintptr_t>(p));
  int local;
  EXPECT_EQ(check(&local, &b), Verdict::kNotABlock);
  release(p);
  EXPECT_EQ(check(p, &b), Verdict::kDoubleFree);
  EXPECT_FALSE(b.live);
  // Freed, in the quarantine: inaccessible, and classified as such.
  EXPECT_TRUE(faults(p, false));
  EXPECT_EQ(classify(reinterpret_cast<uintptr_t>(p), &b), Site::kFreed);
}

TEST_F(GuardArena, TheQuarantineHoldsFreedRunsUpToItsBound) {
  GuardFigures before;
  totals(&before);
  std::vector<void*> blocks;
  for (int i = 0; i < 1000; ++i) blocks.push_back(allocate(100, 16));
  for (void* p : blocks) release(p);
  GuardFigures f;
  totals(&f);
  EXPECT_LE(f.quarantine_bytes, size_t{1} << 20);
  EXPECT_GE(f.quarantine_bytes, (size_t{1} << 20) - 2 * page_size());
  EXPECT_EQ(f.live_blocks, before.live_blocks);
  // The oldest left the quarantine and are reused: the arena does not grow for the next ones.
  std::vector<void*> again;
  for (int i = 0; i < 500; ++i) again.push_back(allocate(100, 16));
  GuardFigures g;
  totals(&g);
  EXPECT_EQ(g.arena_bytes, f.arena_bytes);
  for (void* p : again) release(p);
}

// Without MADV_GUARD_INSTALL each guard splits the arena's mapping: about vm.max_map_count / 2
// blocks fit, then the arena says so once and serves none, and freeing lets it guard again. Which
// call meets the limit first (a guard, or the arena growing by a mapping of its own where it
// cannot grow in place, as under TSan) varies: both messages name vm.max_map_count.
TEST(GuardArenaFallback, StopsAtTheMappingLimitOnceAndRecovers) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // a fresh process: the arena is configured once
  EXPECT_EXIT(
      {
        Settings s;
        s.force_mprotect = true;
        if (!configure(s)) _exit(3);
        std::vector<void*> live;
        size_t limit = os::max_map_count();
        while (void* p = allocate(24, 16)) {
          live.push_back(p);
          if (live.size() > limit) _exit(4);  // the limit never came
        }
        if (live.size() < limit / 4) _exit(5);
        if (allocate(24, 16) != nullptr) _exit(6);
        for (size_t i = 0; i < 100; ++i) release(live[i]);
        if (allocate(24, 16) == nullptr) _exit(7);  // freed runs are guarded again
        GuardFigures f;
        totals(&f);
        _exit(f.unguarded >= 2 ? 0 : 8);
      },
      ::testing::ExitedWithCode(0), "catch_overflow: .*vm.max_map_count");
}

}  // namespace
}  // namespace aixmalloc::guard
