// MALLOCDEBUG's Malloc Detect and fill (options/malloc_detect.h): first the set of live blocks and
// the record of freed ones, driven directly; then the layer at the top of a real stack (the
// runtime's composition, libmalloc/stack.h) built from the configuration under test, whose
// Malloc Detect options each test sets by hand. ctest runs the executable once per configuration
// (DETECT_TEST_ENV: Yorktown and Watson, with and without pool,multiheap), so the pointers come
// from every layer: the pool, the thread cache, the heaps, large blocks.
#include "options/malloc_detect.h"

#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "libmalloc/base/block.h"
#include "libmalloc/base/config.h"
#include "libmalloc/base/debug_output.h"
#include "libmalloc/base/lock.h"
#include "libmalloc/stack.h"

namespace {

using namespace aixmalloc;
namespace detect = aixmalloc::detect;
using detect::Finding;

// Keeps the compiler from reasoning about a pointer (a double free it could see).
void* launder(void* p) {
  asm volatile("" : "+r"(p));
  return p;
}

std::string hex(const void* p) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%#lx", static_cast<unsigned long>(reinterpret_cast<uintptr_t>(p)));
  return buf;
}
char* at(void* p, size_t offset) { return static_cast<char*>(p) + offset; }

// --- the set and the record, directly ------------------------------------------------------------

// Addresses no block of this process has: in the first 4 GiB, below where the kernel maps.
void* fake(size_t i) { return reinterpret_cast<void*>(0x10000000 + i * 48); }

TEST(DetectSet, RemembersLiveBlocksThroughGrowthAndRemovals) {
  constexpr size_t kCount = 200000;  // several doublings of every stripe's table
  for (size_t i = 0; i < kCount; ++i) detect::insert(fake(i), i);
  size_t size = 0;
  for (size_t i = 0; i < kCount; ++i) {
    ASSERT_TRUE(detect::contains(fake(i), &size)) << i;
    ASSERT_EQ(size, i);
  }
  EXPECT_FALSE(detect::contains(at(fake(5), 16), nullptr));
  // Every other one leaves; the rest are still found (removals shift runs back, nothing is lost).
  for (size_t i = 0; i < kCount; i += 2) ASSERT_TRUE(detect::remove(fake(i), &size)) << i;
  for (size_t i = 0; i < kCount; ++i) ASSERT_EQ(detect::contains(fake(i), nullptr), i % 2 == 1) << i;
  for (size_t i = 1; i < kCount; i += 2) ASSERT_TRUE(detect::remove(fake(i), &size)) << i;
  EXPECT_FALSE(detect::remove(fake(7), &size)) << "removed twice";
}

TEST(DetectSet, TellsWhatAPointerThatIsNotLiveIs) {
  void* p = fake(1000);
  detect::insert(p, 100);
  detect::Diagnosis d = detect::diagnose(at(p, 32), true);
  EXPECT_EQ(d.what, Finding::kInterior);
  EXPECT_EQ(d.block, reinterpret_cast<uintptr_t>(p));
  EXPECT_EQ(d.size, 100u);
  EXPECT_EQ(detect::diagnose(at(p, 112), true).what, Finding::kNotABlock) << "past its 100 bytes";
  EXPECT_EQ(detect::diagnose(at(p, 32), false).what, Finding::kForeign);
  size_t size;
  ASSERT_TRUE(detect::remove(p, &size));
  d = detect::diagnose(p, true);
  EXPECT_EQ(d.what, Finding::kDoubleFree);
  EXPECT_EQ(d.size, 100u);
  // The record is bounded: after many more frees the first one is forgotten.
  for (size_t i = 0; i < 4 * detect::kStripes * detect::kFreedPerStripe; ++i) {
    detect::insert(fake(2000 + i), 8);
    ASSERT_TRUE(detect::remove(fake(2000 + i), &size));
  }
  EXPECT_EQ(detect::diagnose(p, true).what, Finding::kNotABlock);
}

TEST(DetectSet, ThreadsOnTheSameStripesLoseNothing) {
  constexpr size_t kThreads = 4, kPerThread = 50000;
  std::vector<std::thread> threads;
  for (size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      size_t base = 1000000 + t * kPerThread, size;
      for (size_t i = 0; i < kPerThread; ++i) {
        detect::insert(fake(base + i), i);
        if (i % 3 == 2) {
          ASSERT_TRUE(detect::remove(fake(base + i - 1), &size));
        }
      }
      for (size_t i = 0; i < kPerThread; ++i)
        ASSERT_EQ(detect::remove(fake(base + i), &size), i % 3 != 1 || i + 1 == kPerThread) << t << " " << i;
    });
  }
  for (auto& t : threads) t.join();
}

// --- the layer over a real stack -----------------------------------------------------------------

// The configuration under test, from DETECT_TEST_ENV ("MALLOCTYPE=watson MALLOCOPTIONS=pool,...").
const Config& base_config() {
  static Config c;
  static std::string text = getenv("DETECT_TEST_ENV") ? getenv("DETECT_TEST_ENV") : "";
  static bool parsed = [] {
    RawVariables raw;
    static std::vector<std::string> values;
    values.reserve(8);
    for (size_t start = 0; start < text.size();) {
      size_t end = text.find(' ', start);
      if (end == std::string::npos) end = text.size();
      std::string item = text.substr(start, end - start);
      start = end + 1;
      size_t eq = item.find('=');
      for (size_t i = 0; eq != std::string::npos && i < kVariableCount; ++i) {
        if (item.compare(0, eq, kVariables[i].name()) != 0) continue;
        values.push_back(item.substr(eq + 1));
        raw.value[i] = values.back().c_str();
      }
    }
    parse_config(raw, ParseContext{}, &c);
    return true;
  }();
  (void)parsed;
  return c;
}
bool pool_on() { return base_config().enabled(OptionId::kPool); }

rt::Stack& stack() {
  static rt::Stack* s = [] {
    auto* made = new rt::Stack();
    made->configure(base_config());
    return made;
  }();
  return *s;
}

// The runtime's semantics over the stack (libmalloc/requests.cpp), for the tests.
Owner owner(const void* p) { return address_map().lookup(p); }
void* m(size_t n, size_t align = kAlignment) { return stack().allocate(n, align); }
void f(void* p, const char* call = "free") { stack().release(p, owner(p), call); }
size_t usable(void* p) { return stack().usable_size(p, owner(p), "malloc_usable_size"); }
void* c(size_t n) {
  void* p = m(n);
  stack().clear(p, n);
  return p;
}
void* r(void* p, size_t n) {
  Owner o = owner(p);
  void* q = stack().reallocate(p, o, n);
  if (q == debug::kDropped) {
    errno = EINVAL;
    return nullptr;
  }
  if (q) return q;
  size_t old = stack().usable_size(p, o, "realloc");
  q = m(n);
  memcpy(q, p, old < n ? old : n);
  f(p, "realloc");
  return q;
}

struct Options {
  bool validate = false, fill = false, checkarena = false, verbose = false, keep_going = false;
  uint64_t byte = 0xa5;
};

// Sets Malloc Detect's options over the stack (the set starts empty) and the output stream's
// `continue`.
void detect_with(Options o) {
  Config cfg = base_config();
  cfg.option(OptionId::kValidatePtrs).on = o.validate;
  cfg.option(OptionId::kFill).on = o.fill;
  cfg.option(OptionId::kFill).number = o.byte;
  cfg.option(OptionId::kCheckarena).on = o.checkarena;
  cfg.option(OptionId::kVerbose).on = o.verbose;
  stack().configure_detect(cfg);
  debug::configure_output(o.keep_going);
}

// The layer's figures; a report has its section only while the layer is on (`on`).
DetectFigures figures(bool on = true) {
  Statistics s;
  stack().statistics(s);
  EXPECT_EQ(s.has_detect, on ? 1u : 0u);
  return s.detect;
}

// One size served by each layer: the pool (or the thread cache, or a heap), the thread cache (or a
// heap), a heap, a large block.
constexpr size_t kSizes[] = {24, 1000, 20000, size_t{5} << 20};

class MallocDetect : public ::testing::Test {
 protected:
  void SetUp() override { stack(); }
  void TearDown() override { detect_with(Options{}); }
};

TEST_F(MallocDetect, OffItChangesNothingAndTheFastPathStays) {
  detect_with(Options{});
  stack().set_default_alignment(kAlignment);
  EXPECT_EQ(pool::g_fast.load(), pool_on());
  DetectFigures before = figures(false);
  for (size_t n : kSizes) {
    void* p = m(n);
    ASSERT_NE(p, nullptr);
    EXPECT_GE(usable(p), n);
    f(p);
  }
  DetectFigures after = figures(false);
  EXPECT_EQ(after.validated, before.validated) << "nothing is validated while the options are off";
  EXPECT_EQ(after.arena_checks, before.arena_checks);
}

TEST_F(MallocDetect, OnThePoolsFastPathIsOffEvenAfterMalign) {
  for (Options o : {Options{.validate = true}, Options{.fill = true}, Options{.checkarena = true}}) {
    detect_with(o);
    EXPECT_FALSE(pool::g_fast.load());
    stack().set_default_alignment(kAlignment);  // what mallopt(M_MALIGN, 16) does
    EXPECT_FALSE(pool::g_fast.load());
  }
  detect_with(Options{});
  stack().set_default_alignment(kAlignment);
  EXPECT_EQ(pool::g_fast.load(), pool_on());
}

TEST_F(MallocDetect, ValidLiveBlocksPassEveryCall) {
  detect_with({.validate = true});
  DetectFigures before = figures();
  std::vector<void*> blocks;
  for (size_t n : kSizes) {
    blocks.push_back(m(n));
    blocks.push_back(m(n, 4096));  // memalign
  }
  for (void*& p : blocks) {
    ASSERT_NE(p, nullptr);
    EXPECT_GT(usable(p), 0u);
    memset(p, 7, 16);
    p = r(p, 3000);  // every layer's block grows into another or in place
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(static_cast<unsigned char*>(p)[15], 7);
    p = r(p, 40);
    EXPECT_EQ(static_cast<unsigned char*>(p)[15], 7);
  }
  for (void* p : blocks) f(p);
  DetectFigures after = figures();
  EXPECT_GE(after.validated - before.validated, 4 * blocks.size());  // usable, 2 reallocs, free
  EXPECT_EQ(after.double_frees, before.double_frees);
  EXPECT_EQ(after.bad_pointers, before.bad_pointers);
}

using MallocDetectDeathTest = MallocDetect;

// The pointers of the death tests are made in this process, so the expected messages name them.
TEST_F(MallocDetectDeathTest, DoubleFreeIsReportedWithTheAddressAndThread) {
  detect_with({.validate = true});
  for (size_t n : kSizes) {
    void* p = m(n);
    void* guard = m(n);
    EXPECT_DEATH(
        {
          f(p);
          f(launder(p));
        },
        "^aixmalloc: free\\(\\): double free of " + hex(p) + " \\(thread [0-9]+\\)\n")
        << n;
    f(p);
    f(guard);
  }
}

TEST_F(MallocDetectDeathTest, InteriorPointerNamesItsBlock) {
  detect_with({.validate = true});
  for (size_t n : kSizes) {
    void* p = m(n);
    EXPECT_DEATH(f(launder(at(p, 16))), "^aixmalloc: free\\(\\): invalid pointer " + hex(at(p, 16)) +
                                            ": interior pointer of block " + hex(p) +
                                            " at offset \\+16 \\(thread [0-9]+\\)\n")
        << n;
    EXPECT_DEATH(usable(launder(at(p, 16))), "^aixmalloc: malloc_usable_size\\(\\): invalid pointer " +
                                                 hex(at(p, 16)) + ": interior pointer of block " + hex(p));
    f(p);
  }
}

TEST_F(MallocDetectDeathTest, ForeignPointersAndFreedMemory) {
  detect_with({.validate = true});
  int local = 0;
  EXPECT_DEATH(f(launder(&local)),
               "^aixmalloc: free\\(\\): invalid pointer " + hex(&local) + ": not a block from malloc");
  void* p = m(20000);
  void* guard = m(20000);
  f(p);
  EXPECT_DEATH(f(launder(at(p, 64))), "^aixmalloc: free\\(\\): invalid pointer " + hex(at(p, 64)) +
                                          ": not the start of a live block");
  EXPECT_DEATH(r(launder(p), 100), "^aixmalloc: realloc\\(\\): double free of " + hex(p));
  f(guard);
}

TEST_F(MallocDetect, ContinueReportsAndTheProgramGoesOn) {
  detect_with({.validate = true, .keep_going = true});
  DetectFigures before = figures();
  std::vector<void*> kept;
  ::testing::internal::CaptureStderr();
  for (size_t n : kSizes) {
    void* p = m(n);
    void* q = m(n);
    memset(q, 0x11, 24);
    f(p);
    f(launder(p));                          // double free: nothing happens
    f(launder(at(q, 16)));                  // interior: nothing happens
    errno = 0;
    EXPECT_EQ(r(launder(at(q, 16)), 5000), nullptr);  // realloc: NULL, EINVAL, q untouched
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(r(launder(p), 5000), nullptr);
    EXPECT_EQ(usable(launder(at(q, 16))), 0u);
    EXPECT_EQ(static_cast<unsigned char*>(q)[23], 0x11);
    kept.push_back(q);
  }
  std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(out.find("double free of"), std::string::npos) << out;
  EXPECT_NE(out.find("MALLOCDEBUG=continue: this free() does nothing"), std::string::npos) << out;
  EXPECT_NE(out.find("MALLOCDEBUG=continue: this realloc() returns NULL with errno EINVAL"), std::string::npos)
      << out;
  DetectFigures after = figures();
  EXPECT_EQ(after.double_frees - before.double_frees, 2 * std::size(kSizes));
  EXPECT_EQ(after.bad_pointers - before.bad_pointers, 3 * std::size(kSizes));
  // The blocks of the bad calls are intact, and the program's later allocations work.
  for (void* q : kept) {
    EXPECT_EQ(static_cast<unsigned char*>(q)[0], 0x11);
    q = r(q, 10000);
    ASSERT_NE(q, nullptr);
    f(q);
  }
  std::vector<void*> later;
  for (int i = 0; i < 2000; ++i) later.push_back(m(static_cast<size_t>(1 + i * 37 % 30000)));
  for (void* p : later) f(p);
  EXPECT_EQ(figures().bad_pointers, after.bad_pointers);
}

TEST_F(MallocDetect, VerboseDescribesTheBlockAndWhatToLookFor) {
  detect_with({.validate = true, .verbose = true, .keep_going = true});
  void* p = m(1000);
  void* big = m(size_t{5} << 20);
  ::testing::internal::CaptureStderr();
  f(launder(at(p, 64)));
  f(launder(at(big, 4096)));
  f(p);
  f(launder(p));
  std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(out.find("block:    " + hex(p) + ", 1000 bytes requested, in heap 0"), std::string::npos) << out;
  EXPECT_NE(out.find("the pointer lies 64 bytes into it"), std::string::npos) << out;
  EXPECT_NE(out.find("a large block (an address range of its own); the pointer lies 4096 bytes"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("look for: a second free() of a pointer already freed"), std::string::npos) << out;
  f(big);
}

bool all_bytes(const void* p, size_t from, size_t to, unsigned char b) {
  for (size_t i = from; i < to; ++i)
    if (static_cast<const unsigned char*>(p)[i] != b) return false;
  return true;
}

TEST_F(MallocDetect, FillPatternInNewMemory) {
  for (uint64_t byte : {uint64_t{0xa5}, uint64_t{0x3c}}) {
    detect_with({.fill = true, .byte = byte});
    for (size_t n : kSizes) {
      for (size_t align : {kAlignment, size_t{4096}}) {
        void* p = m(n, align);
        ASSERT_NE(p, nullptr);
        EXPECT_TRUE(all_bytes(p, 0, usable(p), static_cast<unsigned char>(byte))) << n << " " << align;
        f(p);
      }
      // realloc keeps the old bytes and fills the new part.
      void* p = m(n);
      memset(p, 1, n);
      void* q = r(p, n * 3);
      EXPECT_TRUE(all_bytes(q, 0, n, 1)) << n;
      EXPECT_TRUE(all_bytes(q, n, n * 3, static_cast<unsigned char>(byte))) << n;
      f(q);
    }
  }
}

TEST_F(MallocDetect, CallocIsStillZeroUnderFill) {
  detect_with({.validate = true, .fill = true});
  for (int round = 0; round < 2; ++round) {  // the second large block reuses the first's range
    for (size_t n : kSizes) {
      void* p = c(n);
      EXPECT_TRUE(all_bytes(p, 0, n, 0)) << n << " round " << round;
      f(p);
    }
  }
}

TEST_F(MallocDetect, FreedBlockHoldsTheComplement) {
  detect_with({.fill = true});
  // The memory of a freed heap block stays mapped; its first bytes hold the allocator's links.
  void* p = m(1000);
  void* guard = m(1000);
  size_t n = usable(p);
  f(p);
  EXPECT_TRUE(all_bytes(p, 64, n, 0x5a));
  f(guard);
  // Read through the API: a block freed under fill and handed out again without it (the pool and
  // the thread cache hand the last block freed out first, Yorktown the lowest address that fits).
  p = m(200);
  f(p);
  detect_with({});
  void* q = m(200);
  ASSERT_EQ(q, p);
  EXPECT_TRUE(all_bytes(q, 16, usable(q), 0x5a));
  f(q);
}

TEST_F(MallocDetect, CheckarenaRunsOnEveryCall) {
  detect_with({.checkarena = true});
  DetectFigures before = figures();
  std::vector<void*> blocks;
  for (int i = 0; i < 100; ++i) blocks.push_back(m(static_cast<size_t>(100 + i * 300)));
  for (void* p : blocks) f(p);
  EXPECT_GE(figures().arena_checks - before.arena_checks, 200u);
}

// A heap block (too large for the pool and the thread cache) between two live ones, so that freed
// it merges with neither: from a run of blocks allocated together, one whose neighbours are both in
// the run (earlier tests may have left holes that some of the run fill).
void* block_between_live_ones(std::vector<void*>& run) {
  auto start = [](void* p) { return reinterpret_cast<uintptr_t>(BlockHeader::of(p)); };
  for (int i = 0; i < 32; ++i) {
    run.push_back(m(20000));
    for (void* x : run) {
      bool below = false, above = false;
      for (void* y : run) {
        below |= start(y) + BlockHeader::of(y)->size() == start(x);
        above |= start(x) + BlockHeader::of(x)->size() == start(y);
      }
      if (below && above) return x;
    }
  }
  return nullptr;
}

// The freed block's size word, damaged.
void damage_a_free_block(void* b) { BlockHeader::of(b)->size_flags |= 8; }

TEST_F(MallocDetectDeathTest, CheckarenaFindsADamagedFreeBlock) {
  for (bool verbose : {false, true}) {
    detect_with({.checkarena = true, .verbose = verbose, .keep_going = true});  // continue: still fatal
    std::vector<void*> run;
    void* b = block_between_live_ones(run);
    ASSERT_NE(b, nullptr);
    f(b);
    std::string expected = "^aixmalloc: malloc\\(\\): heap corruption found by checkarena: heap [0-9]+: free "
                           "block with flags set at " +
                           hex(BlockHeader::of(b)) + " \\(thread [0-9]+\\)\n";
    if (verbose) expected += "  check: .*\n  look for: a write past the end of the block just below";
    EXPECT_DEATH(
        {
          damage_a_free_block(b);
          m(10);
        },
        expected);
    for (void* p : run)
      if (p != b) f(p);
  }
}

TEST_F(MallocDetect, ThreadsValidateAndFillTogether) {
  detect_with({.validate = true, .fill = true});
  constexpr int kThreads = 4, kRounds = 3000;
  std::vector<std::vector<void*>> handed(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &handed] {
      std::vector<void*> mine;
      for (int i = 0; i < kRounds; ++i) {
        size_t n = static_cast<size_t>(1 + (i * 131 + t * 17) % 6000);
        void* p = m(n);
        memset(p, t, n);
        if (i % 4 == 0) p = r(p, n * 2);
        mine.push_back(p);
        if (i % 3 == 0) {
          f(mine.front());
          mine.erase(mine.begin());
        }
      }
      handed[static_cast<size_t>(t)] = mine;
    });
  }
  for (auto& t : threads) t.join();
  for (auto& v : handed)  // freed by a thread that did not allocate them
    for (void* p : v) f(p);
}

TEST_F(MallocDetect, ForkKeepsTheSetConsistent) {
  detect_with({.validate = true});
  void* p = m(1000);
  stack().fork_prepare();  // what the runtime's pthread_atfork handlers do
  pid_t pid = fork();
  if (pid == 0) {
    stack().fork_child();
    Lock::reset_held_in_child();
    void* q = m(500);
    f(q);
    f(p);
    _exit(0);
  }
  stack().fork_parent();
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  f(p);
}

// A child forked while a stripe's lock was held (from a signal handler inside the allocator) drops
// that stripe's records and lets its pointers through to the layers below.
TEST_F(MallocDetect, ForkWithTheLocksHeldSetsTheSetAside) {
  detect_with({.validate = true});
  void* p = m(1000);
  detect::lock_all();
  pid_t pid = fork();
  if (pid == 0) {
    stack().fork_child_set_aside();
    Lock::reset_held_in_child();
    f(p);  // known to no stripe any more, and still freed
    void* q = m(500);
    f(q);
    _exit(0);
  }
  detect::unlock_all();
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  f(p);
}

}  // namespace
