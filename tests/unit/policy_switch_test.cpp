// The policy switch: under watson2 the policy's heaps, which get only its blocks over 16 KiB, are
// built by the first call that needs them, once however many threads ask together, never while a
// fork is being prepared; the calls that only look (trim, any_allocation, fork's handlers) never
// build them. The other policies build theirs at once.
#include "libmalloc/policy_switch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "libmalloc/base/address_map.h"
#include "libmalloc/base/format.h"

namespace aixmalloc::rt {
namespace {

// Parsed as the runtime parses the variables, once per policy; static, since a switch keeps the
// Config it was given.
const Config& parsed(Policy policy) {
  static Config configs[kPolicyCount];
  static bool done[kPolicyCount];
  Config& c = configs[static_cast<size_t>(policy)];
  if (!done[static_cast<size_t>(policy)]) {
    RawVariables raw;
    raw[Variable::kMallocType] = spec(policy).spelling();
    parse_config(raw, ParseContext{}, &c);
    done[static_cast<size_t>(policy)] = true;
  }
  return c;
}

void release(PolicySwitch& s, void* p) { s.release(p, address_map().lookup(p), "free"); }

// The heaps' own consistency check, once every block is back: what a second build over heaps
// already in use would break.
void expect_whole(PolicySwitch& s) {
  char buf[256];
  Text why(buf, sizeof buf);
  EXPECT_TRUE(s.check(&why)) << why.c_str();
}

TEST(PolicySwitch, Watson2BuildsItsHeapsAtTheFirstCallThatNeedsThem) {
  PolicySwitch s;
  s.configure(parsed(Policy::kWatson2));
  EXPECT_FALSE(s.built());
  EXPECT_FALSE(s.any_allocation());
  EXPECT_EQ(s.trim(), 0u);
  s.fork_prepare();
  s.fork_parent();
  EXPECT_FALSE(s.built());

  void* p = s.allocate(20000, 16);
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(s.built());
  EXPECT_TRUE(s.any_allocation());
  memset(p, 0x5a, 20000);
  EXPECT_GE(s.usable_size(p, address_map().lookup(p), "malloc_usable_size"), 20000u);
  s.fork_prepare();  // the build's lock, then the heaps' locks
  s.fork_parent();
  release(s, p);
  expect_whole(s);
}

TEST(PolicySwitch, TheOtherPoliciesBuildTheirHeapsAtOnce) {
  for (Policy policy : {Policy::kYorktown, Policy::kWatson, Policy::kV31_64}) {
    const char* type = spec(policy).spelling();
    PolicySwitch s;
    s.configure(parsed(policy));
    EXPECT_TRUE(s.built()) << type;
    void* p = s.allocate(100, 16);
    ASSERT_NE(p, nullptr) << type;
    EXPECT_TRUE(s.any_allocation()) << type;
    release(s, p);
    expect_whole(s);
  }
}

// Eight threads ask while a fork is being prepared (its handler holds the build's lock): none gets
// a block, and no heap is built, until the fork is over; then the heaps are built once (a second
// build would have started the heap's counts again) and every block is whole.
TEST(PolicySwitch, ThreadsThatAskTogetherBuildTheHeapsOnce) {
  for (int round = 0; round < 4; ++round) {
    PolicySwitch s;
    s.configure(parsed(Policy::kWatson2));
    constexpr int kThreads = 8;
    std::atomic<int> ready{0};
    std::vector<std::atomic<void*>> got(kThreads);
    std::vector<std::thread> threads;
    s.fork_prepare();
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        ready.fetch_add(1);
        void* p = s.allocate(32768 + 16 * t, 16);
        if (p) memset(p, t, 32768);
        got[t].store(p);
      });
    }
    while (ready.load() < kThreads) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    for (int t = 0; t < kThreads; ++t) EXPECT_EQ(got[t].load(), nullptr) << "round " << round;
    EXPECT_FALSE(s.built());
    s.fork_parent();
    for (auto& th : threads) th.join();
    EXPECT_TRUE(s.built());
    static Statistics f;
    f = Statistics{};
    s.statistics(f);
    ASSERT_EQ(f.heaps, 1u);
    EXPECT_EQ(f.heap[0].allocations, static_cast<uint64_t>(kThreads)) << "round " << round;
    for (int t = 0; t < kThreads; ++t) {
      auto* bytes = static_cast<unsigned char*>(got[t].load());
      ASSERT_NE(bytes, nullptr) << t;
      EXPECT_EQ(bytes[0], t);
      EXPECT_EQ(bytes[32767], t);
      for (int u = 0; u < t; ++u) EXPECT_NE(got[t].load(), got[u].load());
    }
    for (auto& p : got) release(s, p.load());
    expect_whole(s);
  }
}

}  // namespace
}  // namespace aixmalloc::rt
