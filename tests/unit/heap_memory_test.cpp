// The memory of one heap (libmalloc/base/heap_memory.h), grown like sbrk: commits at the top of a
// reserved range, enters what it commits in the address map, opens a new segment when one is full,
// and reserves less when a reservation is refused.
#include "libmalloc/base/heap_memory.h"

#include <gtest/gtest.h>

#include <cstring>

#include "libmalloc/base/address_map.h"
#include "libmalloc/base/platform.h"

#if defined(__has_feature)
#define AIXMALLOC_CLANG_TSAN __has_feature(thread_sanitizer)
#else
#define AIXMALLOC_CLANG_TSAN 0
#endif

namespace aixmalloc {
namespace {

// Restores the default reservation size when a test that changed it ends.
struct ReserveSize {
  explicit ReserveSize(size_t bytes) { HeapMemory::set_reserve_size_for_testing(bytes); }
  ~ReserveSize() { HeapMemory::set_reserve_size_for_testing(0); }
};

struct TestHeap {
  HeapMemory memory{Owner::make(OwnerKind::kHeap, this)};
  Owner owner() const { return Owner::make(OwnerKind::kHeap, this); }
};

size_t segment_count(const HeapMemory& m) {
  size_t n = 0;
  for (const Segment* s = m.segments(); s; s = s->next) ++n;
  return n;
}

TEST(HeapMemory, GrowsAtTheTopOfOneSegment) {
  TestHeap h;
  EXPECT_EQ(h.memory.segments(), nullptr);
  EXPECT_EQ(h.memory.committed(), 0u);
  HeapMemory::Grown first;
  ASSERT_TRUE(h.memory.grow(1000, &first));
  EXPECT_TRUE(first.new_segment);
  const Segment* seg = h.memory.segments();
  ASSERT_NE(seg, nullptr);
  EXPECT_EQ(first.start, seg->first_block());  // right after the segment's record
  EXPECT_EQ(first.start % kAlignment, 0u);
  EXPECT_GE(first.size, 1000u);
  EXPECT_EQ(first.start + first.size, seg->handed);  // what was asked for; the rest committed above
  EXPECT_LE(seg->handed, seg->top);
  EXPECT_EQ(seg->base % kGranule, 0u);
  memset(reinterpret_cast<void*>(first.start), 0xab, first.size);  // committed: writable

  HeapMemory::Grown next;
  ASSERT_TRUE(h.memory.grow(3 * kGranule, &next));
  EXPECT_FALSE(next.new_segment);
  EXPECT_EQ(next.start, first.start + first.size);  // contiguous, like sbrk
  EXPECT_GE(next.size, 3 * kGranule);
  EXPECT_EQ(h.memory.segments(), seg);
  EXPECT_EQ(seg->handed, next.start + next.size);
  EXPECT_LE(seg->handed, seg->top);
  memset(reinterpret_cast<void*>(next.start), 0xcd, next.size);
  EXPECT_EQ(h.memory.committed(), seg->top - seg->base);
  EXPECT_EQ(h.memory.given(), seg->handed - seg->base);
  EXPECT_EQ(h.memory.grow_calls(), 2u);
}

TEST(HeapMemory, OwnsWhatItCommittedAndTheMapSaysSo) {
  TestHeap h;
  HeapMemory::Grown g;
  ASSERT_TRUE(h.memory.grow(100000, &g));
  const Segment* seg = h.memory.segments();
  for (uintptr_t a : {seg->base, g.start, g.start + g.size / 2, seg->top - 1}) {
    EXPECT_TRUE(h.memory.owns(a)) << std::hex << a;
    EXPECT_EQ(address_map().lookup(reinterpret_cast<void*>(a)).word, h.owner().word) << std::hex << a;
  }
  // Reserved but not committed: not the heap's yet, and in no one's map entry.
  EXPECT_FALSE(h.memory.owns(seg->top));
  EXPECT_EQ(address_map().lookup(reinterpret_cast<void*>(seg->top)).word, 0u);
  EXPECT_FALSE(h.memory.owns(seg->base - 1));
  int local = 0;
  EXPECT_FALSE(h.memory.owns(reinterpret_cast<uintptr_t>(&local)));
}

// The growth step follows the heap's size (about an eighth of it, at least a granule), so a growing
// heap makes few system calls; the policy gets what it asked for, and the rest of the step serves
// the next requests without a system call.
TEST(HeapMemory, StepsGrowWithTheHeap) {
  ReserveSize room(64 << 20);  // one segment throughout, with or without a zone to grow into
  TestHeap h;
  HeapMemory::Grown g;
  ASSERT_TRUE(h.memory.grow(kGranule, &g));
  ASSERT_TRUE(h.memory.grow(64 * kGranule, &g));
  const Segment* seg = h.memory.segments();
  size_t before = h.memory.committed();
  size_t kept = seg->top - seg->handed;
  unsigned calls = h.memory.grow_calls();
  ASSERT_TRUE(h.memory.grow(kept + 16, &g));  // 16 bytes more than is kept: a step is committed
  EXPECT_EQ(g.size, kept + 16);
  EXPECT_EQ((h.memory.committed() - before) % kGranule, 0u);
  EXPECT_GE(h.memory.committed() - before, before / 8 / kGranule * kGranule);
  EXPECT_EQ(h.memory.grow_calls(), calls + 1);
  ASSERT_TRUE(h.memory.grow(16, &g));  // from what the step left: no system call
  EXPECT_EQ(g.size, 16u);
  EXPECT_EQ(h.memory.grow_calls(), calls + 1);
}

// A full segment: the next growth reserves another range, not necessarily adjacent.
TEST(HeapMemory, FullSegmentOpensAnother) {
  ReserveSize small(4 << 20);  // the smallest reservation: 4 MiB
  TestHeap h;
  HeapMemory::Grown g;
  ASSERT_TRUE(h.memory.grow(3 << 20, &g));
  const Segment* first = h.memory.segments();
  ASSERT_TRUE(h.memory.grow(2 << 20, &g));
  EXPECT_TRUE(g.new_segment);
  EXPECT_EQ(segment_count(h.memory), 2u);
  EXPECT_NE(h.memory.segments(), first);
  EXPECT_EQ(h.memory.segments()->next, first);
  EXPECT_EQ(g.start, h.memory.segments()->first_block());
  EXPECT_GE(g.size, size_t{2} << 20);
  size_t committed = 0;
  for (const Segment* s = h.memory.segments(); s; s = s->next) committed += s->top - s->base;
  EXPECT_EQ(h.memory.committed(), committed);
  EXPECT_TRUE(h.memory.owns(first->base));
  EXPECT_TRUE(h.memory.owns(g.start));
}

// A request larger than the usual reservation gets a segment large enough for it.
TEST(HeapMemory, LargeRequestGetsARangeThatHoldsIt) {
  ReserveSize small(4 << 20);
  TestHeap h;
  HeapMemory::Grown g;
  ASSERT_TRUE(h.memory.grow(20 << 20, &g));
  EXPECT_GE(g.size, size_t{20} << 20);
  EXPECT_GE(h.memory.segments()->end - h.memory.segments()->base, size_t{20} << 20);
}

// No kernel grants a reservation larger than the whole address space: the heap halves its request
// until one is granted, and still grows.
TEST(HeapMemory, RefusedReservationFallsBackToASmallerOne) {
#if defined(__SANITIZE_THREAD__) || AIXMALLOC_CLANG_TSAN
  GTEST_SKIP() << "TSan stops a process whose mmap returns memory outside its application ranges";
#endif
  constexpr size_t kImpossible = size_t{1} << 48;  // more than a 47- or 48-bit user address space
  ReserveSize huge(kImpossible);
  TestHeap h;
  HeapMemory::Grown g;
  ASSERT_TRUE(h.memory.grow(1 << 20, &g));
  const Segment* seg = h.memory.segments();
  ASSERT_NE(seg, nullptr);
  size_t reserved = seg->end - seg->base;
  EXPECT_LT(reserved, kImpossible);
  EXPECT_GE(reserved, size_t{1} << 20);
  EXPECT_EQ(reserved % kGranule, 0u);
  memset(reinterpret_cast<void*>(g.start), 1, g.size);
}

// A heap made by a test gives its ranges back, and their map entries with them.
TEST(HeapMemory, DestructorGivesEverythingBack) {
  uintptr_t base = 0, top = 0;
  Owner owner;
  {
    TestHeap h;
    owner = h.owner();
    HeapMemory::Grown g;
    ASSERT_TRUE(h.memory.grow(1 << 20, &g));
    base = h.memory.segments()->base;
    top = h.memory.segments()->top;
    EXPECT_EQ(address_map().lookup(reinterpret_cast<void*>(base)).word, owner.word);
  }
  for (uintptr_t a = base; a < top; a += kGranule)
    EXPECT_NE(address_map().lookup(reinterpret_cast<void*>(a)).word, owner.word) << std::hex << a;
}

}  // namespace
}  // namespace aixmalloc
