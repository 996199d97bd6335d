// The policy switch: under watson2 the policy's heaps, which get only its blocks over 16 KiB, are
// built by the first call that needs them, once however many threads ask together; the calls that
// only look (trim, any_allocation, fork's handlers) never build them. The other policies build
// theirs at once.
#include "libmalloc/policy_switch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "libmalloc/base/address_map.h"

namespace aixmalloc::rt {
namespace {

// Parsed as the runtime parses the variables; static, since a switch keeps the Config it was given.
const Config& parsed(const char* malloctype) {
  static Config configs[4];
  static int used = 0;
  Config* c = &configs[used++ % 4];
  RawVariables raw;
  raw[Variable::kMallocType] = malloctype;
  parse_config(raw, ParseContext{}, c);
  return *c;
}

void release(PolicySwitch& s, void* p) { s.release(p, address_map().lookup(p), "free"); }

TEST(PolicySwitch, Watson2BuildsItsHeapsAtTheFirstCallThatNeedsThem) {
  PolicySwitch s;
  s.configure(parsed("watson2"));
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
}

TEST(PolicySwitch, TheOtherPoliciesBuildTheirHeapsAtOnce) {
  for (const char* type : {"yorktown", "watson", "3.1_64BIT"}) {
    PolicySwitch s;
    s.configure(parsed(type));
    EXPECT_TRUE(s.built()) << type;
    void* p = s.allocate(100, 16);
    ASSERT_NE(p, nullptr) << type;
    EXPECT_TRUE(s.any_allocation()) << type;
    release(s, p);
  }
}

TEST(PolicySwitch, ThreadsThatAskTogetherBuildTheHeapsOnce) {
  for (int round = 0; round < 4; ++round) {
    PolicySwitch s;
    s.configure(parsed("watson2"));
    constexpr int kThreads = 8;
    std::atomic<int> ready{0};
    std::vector<void*> got(kThreads, nullptr);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        ready.fetch_add(1);
        while (ready.load() < kThreads) {
        }
        void* p = s.allocate(32768 + 16 * t, 16);
        if (p) memset(p, t, 32768);
        got[t] = p;
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_TRUE(s.built());
    for (int t = 0; t < kThreads; ++t) {
      ASSERT_NE(got[t], nullptr) << t;
      auto* bytes = static_cast<unsigned char*>(got[t]);
      EXPECT_EQ(bytes[0], t);
      EXPECT_EQ(bytes[32767], t);
      for (int u = 0; u < t; ++u) EXPECT_NE(got[t], got[u]);
    }
    for (void* p : got) release(s, p);
  }
}

}  // namespace
}  // namespace aixmalloc::rt
