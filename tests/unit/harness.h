// A policy instance on a heap of its own, for tests that drive a policy directly (no runtime, no
// exported malloc). Every test heap gives its address space back when the harness goes away.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "libmalloc/base/block.h"
#include "libmalloc/base/format.h"
#include "libmalloc/base/heap_memory.h"

namespace aixmalloc::testing {

template <class P>
struct PolicyHarness {
  HeapMemory memory{Owner::make(OwnerKind::kHeap, this)};
  P policy{&memory};

  // check() with the reason in the failure message.
  ::testing::AssertionResult valid() const {
    TextBuf<256> why;
    if (policy.check(&why)) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "check() failed: " << why.c_str();
  }
  void* alloc(size_t n, size_t align = 16) { return policy.allocate(n, align); }
  void release(void* p) { policy.release(p); }
};

// What an overflow does to a coalescing heap: three blocks of `size` bytes, the middle one freed,
// then the size word of its in-use neighbour below grown so that it reaches into the free block,
// and that neighbour freed (or, with `grow`, reallocated to four times its size). The policy must
// stop with its corruption report.
template <class P>
void overflow_into_a_free_block(PolicyHarness<P>& h, size_t size, bool grow = false) {
  void* a = h.alloc(size);
  void* b = h.alloc(size);
  void* c = h.alloc(size);
  h.release(b);
  uintptr_t free_block = reinterpret_cast<uintptr_t>(BlockHeader::of(b));
  for (void* p : {a, c}) {  // the one below b: a (Yorktown fills upward), c (Watson downward)
    BlockHeader* below = BlockHeader::of(p);
    if (reinterpret_cast<uintptr_t>(below) + below->size() != free_block) continue;
    below->size_flags = (below->size() + 2 * kAlignment) | kInUse;
    if (grow) {
      h.policy.reallocate(p, 4 * size);
    } else {
      h.release(p);
    }
  }
}

// The pattern a block of a given seed holds at byte i: cheap, and different for every block.
inline unsigned char pattern_byte(uint64_t seed, size_t i) {
  uint64_t x = (seed + i / 8) * 0x9e3779b97f4a7c15ull;
  return static_cast<unsigned char>(x >> (8 * (i % 8)));
}
inline void fill(void* p, size_t n, uint64_t seed) {
  auto* b = static_cast<unsigned char*>(p);
  for (size_t i = 0; i < n; ++i) b[i] = pattern_byte(seed, i);
}
// Index of the first byte that differs from the pattern, or n.
inline size_t first_mismatch(const void* p, size_t n, uint64_t seed) {
  auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; ++i)
    if (b[i] != pattern_byte(seed, i)) return i;
  return n;
}
inline bool intact(const void* p, size_t n, uint64_t seed) { return first_mismatch(p, n, seed) == n; }

}  // namespace aixmalloc::testing
