// Threads against the policies, as the runtime drives them: several threads share one heap through
// its aixmalloc::Lock (DESIGN.md invariant 5) while others grow heaps of their own, so the address
// map's writers and readers meet. Block contents are written and verified outside the lock, as a
// program does, and blocks change hands before they are freed: under TSan, any access a policy makes
// outside the lock to memory it does not own is a reported race. check() at the end of every phase.
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "libmalloc/base/address_map.h"
#include "libmalloc/base/lock.h"
#include "policies/three_one.h"
#include "policies/watson.h"
#include "policies/yorktown.h"
#include "tests/unit/harness.h"

namespace aixmalloc::testing {
namespace {

constexpr unsigned kThreads = 4;
// Steps per thread: enough for every heap to cross several 4 MiB segments in the second test, few
// enough for TSan (about 10x slower) to finish in seconds.
constexpr int kSteps = 4000;

struct Live {
  void* p;
  size_t size;
  uint64_t seed;
};

size_t random_size(std::mt19937_64& rng) {
  switch (rng() % 32) {
    case 0:
      return 1 + rng() % (256 << 10);
    case 1:
    case 2:
    case 3:
      return 1 + rng() % 16384;
    default:
      return rng() % 520;
  }
}

// One heap several threads share, and a hand-over point for blocks that one thread allocates and
// fills and another verifies and frees.
template <class P>
struct SharedHeap {
  Lock lock;
  PolicyHarness<P> h;
  std::mutex mailbox_lock;
  std::vector<Live> mailbox;

  ::testing::AssertionResult valid() {
    LockGuard guard(lock);
    return h.valid();
  }
};

// False (and a test failure) when the block no longer holds its pattern.
bool intact(const Live& b, const char* when) {
  size_t at = first_mismatch(b.p, b.size, b.seed);
  if (at == b.size) return true;
  ADD_FAILURE() << when << ": block " << b.p << " of " << b.size << " bytes damaged at byte " << at;
  return false;
}

template <class P>
void shared_worker(SharedHeap<P>* s, unsigned id, std::atomic<bool>* failed) {
  std::mt19937_64 rng(0x5eed0000 + id);
  std::vector<Live> mine;
  uint64_t next_seed = uint64_t{id + 1} << 40;
  auto stop = [&](const char* what) {
    ADD_FAILURE() << "thread " << id << ": " << what;
    failed->store(true);
  };
  for (int step = 0; step < kSteps && !failed->load(std::memory_order_relaxed); ++step) {
    unsigned op = rng() % 16;
    if (mine.empty() || op < 6) {  // allocate, sometimes over-aligned
      size_t size = random_size(rng);
      size_t align = op == 5 ? size_t{16} << (rng() % 9) : 16;
      void* p;
      size_t usable = 0;
      {
        LockGuard guard(s->lock);
        p = s->h.alloc(size, align);
        if (p) usable = s->h.policy.usable_size(p);
      }
      if (p == nullptr) return stop("allocate returned nullptr");
      if (reinterpret_cast<uintptr_t>(p) % align != 0) return stop("misaligned block");
      if (usable < size) return stop("usable size below the request");
      mine.push_back({p, size, ++next_seed});
      fill(p, size, mine.back().seed);  // outside the lock, as a program would
    } else if (op < 10) {  // free one of mine
      size_t i = rng() % mine.size();
      Live b = mine[i];
      mine[i] = mine.back();
      mine.pop_back();
      if (!intact(b, "before free")) return failed->store(true);
      LockGuard guard(s->lock);
      s->h.release(b.p);
    } else if (op < 13) {  // reallocate one of mine
      size_t i = rng() % mine.size();
      Live& b = mine[i];
      if (!intact(b, "before realloc")) return failed->store(true);
      size_t size = random_size(rng);
      void* q;
      {
        LockGuard guard(s->lock);
        q = s->h.policy.reallocate(b.p, size);
      }
      if (q == nullptr) {  // the policy could not: the block must be untouched
        if (!intact(b, "after a refused realloc")) return failed->store(true);
        continue;
      }
      size_t keep = std::min(size, b.size);
      if (!intact(Live{q, keep, b.seed}, "after realloc")) return failed->store(true);
      b = Live{q, size, ++next_seed};
      fill(q, size, b.seed);
    } else if (op < 15) {  // hand one of mine to whichever thread takes it
      size_t i = rng() % mine.size();
      std::lock_guard<std::mutex> guard(s->mailbox_lock);
      s->mailbox.push_back(mine[i]);
      mine[i] = mine.back();
      mine.pop_back();
    } else {  // free a block another thread (or this one) allocated and filled
      Live b;
      {
        std::lock_guard<std::mutex> guard(s->mailbox_lock);
        if (s->mailbox.empty()) continue;
        size_t i = rng() % s->mailbox.size();
        b = s->mailbox[i];
        s->mailbox[i] = s->mailbox.back();
        s->mailbox.pop_back();
      }
      if (!intact(b, "handed over, before free")) return failed->store(true);
      LockGuard guard(s->lock);
      s->h.release(b.p);
    }
    if (step % 512 == 511) {
      LockGuard guard(s->lock);
      if (!s->h.policy.check(nullptr)) return stop("check() failed during the run");
    }
  }
  for (const Live& b : mine) {
    if (!intact(b, "at the end")) return failed->store(true);
    LockGuard guard(s->lock);
    s->h.release(b.p);
  }
}

// One heap per thread, grown side by side: every heap growth writes the address map (under its
// lock) while the other threads read it without one.
template <class P>
void own_heap_worker(unsigned id, std::atomic<bool>* failed) {
  PolicyHarness<P> h;
  const Owner me = Owner::make(OwnerKind::kHeap, &h);
  std::mt19937_64 rng(0xfeed0000 + id);
  std::vector<Live> mine;
  uint64_t next_seed = uint64_t{id + 1} << 40;
  for (int step = 0; step < kSteps && !failed->load(std::memory_order_relaxed); ++step) {
    if (mine.empty() || rng() % 8 < 5) {
      size_t size = random_size(rng);
      void* p = h.alloc(size);
      if (p == nullptr) {
        ADD_FAILURE() << "allocate returned nullptr";
        return failed->store(true);
      }
      if (address_map().lookup(p).word != me.word) {
        ADD_FAILURE() << "the address map does not name this heap as the owner of " << p;
        return failed->store(true);
      }
      mine.push_back({p, size, ++next_seed});
      fill(p, size, mine.back().seed);
    } else {
      size_t i = rng() % mine.size();
      Live b = mine[i];
      mine[i] = mine.back();
      mine.pop_back();
      if (!intact(b, "before free")) return failed->store(true);
      h.release(b.p);
    }
  }
  for (const Live& b : mine) {
    if (!intact(b, "at the end")) return failed->store(true);
    h.release(b.p);
  }
  ::testing::AssertionResult ok = h.valid();
  if (!ok) {
    ADD_FAILURE() << ok.message();
    failed->store(true);
  }
}

template <class P>
class Threads : public ::testing::Test {};
using PolicyTypes = ::testing::Types<Yorktown, Watson, ThreeOne>;
TYPED_TEST_SUITE(Threads, PolicyTypes);

TYPED_TEST(Threads, ShareOneHeapThroughItsLock) {
  SharedHeap<TypeParam> s;
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < kThreads; ++i)
    threads.emplace_back(shared_worker<TypeParam>, &s, i, &failed);
  for (auto& t : threads) t.join();
  ASSERT_FALSE(failed.load());
  ASSERT_TRUE(s.valid());
  for (const Live& b : s.mailbox) {
    ASSERT_TRUE(intact(b, "left in the mailbox"));
    s.h.release(b.p);
  }
  s.mailbox.clear();
  ASSERT_TRUE(s.valid());
  if constexpr (TypeParam::kCoalescing) {
    // Everything freed: all committed memory is free again but each segment's record and fence.
    size_t overhead = 0;
    for (const Segment* seg = s.h.memory.segments(); seg; seg = seg->next)
      overhead += seg->first_block() - seg->base + TypeParam::kMinBlock;
    EXPECT_EQ(s.h.memory.given() - s.h.policy.free_bytes(), overhead);
  }
}

TYPED_TEST(Threads, HeapsOfTheirOwnGrowSideBySide) {
  // Small segments, so that the heaps reserve new ranges (and write the address map) often.
  HeapMemory::set_reserve_size_for_testing(size_t{4} << 20);
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < kThreads; ++i) threads.emplace_back(own_heap_worker<TypeParam>, i, &failed);
  for (auto& t : threads) t.join();
  HeapMemory::set_reserve_size_for_testing(0);
  EXPECT_FALSE(failed.load());
}

}  // namespace
}  // namespace aixmalloc::testing
