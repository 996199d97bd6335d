// A heap's memory reserves address space as it grows: a first segment of 4 MiB in a zone of its
// own, extended in place (so the heap stays one range) to at most about twice what it has
// committed; a new segment when the addresses above are taken. And the address map can hand a
// heap's granules to another owner, as a forked child does when it sets a heap aside.
#include "libmalloc/base/heap_memory.h"

#include <sys/mman.h>

#include <cstdio>
#include <cstring>

#include <gtest/gtest.h>

#include "libmalloc/base/address_map.h"
#include "libmalloc/base/os.h"
#include "libmalloc/base/zones.h"

namespace aixmalloc {
namespace {

unsigned segments(const HeapMemory& m) {
  unsigned n = 0;
  for (const Segment* s = m.segments(); s; s = s->next) ++n;
  return n;
}

size_t reserved(const HeapMemory& m) {
  size_t n = 0;
  for (const Segment* s = m.segments(); s; s = s->next) n += s->end - s->base;
  return n;
}

// Zones are out of reach in some builds (ThreadSanitizer) and some tools: then a heap grows by new
// segments, and what this file checks of growing in place does not apply. (A zone has at least
// 128 MiB of room, the small one near the mmap area; a reservation without one, none beyond
// itself.)
bool in_a_zone(const HeapMemory& m) { return m.segments()->room_end - m.segments()->base >= (size_t{128} << 20); }

TEST(HeapMemory, ReservesLittleAndGrowsInPlace) {
  alignas(8) static int tag;
  HeapMemory m(Owner::make(OwnerKind::kHeap, &tag));
  HeapMemory::Grown g;
  ASSERT_TRUE(m.grow(1000, &g));
  EXPECT_TRUE(g.new_segment);
  EXPECT_LE(reserved(m), size_t{4} << 20);
  if (!in_a_zone(m)) GTEST_SKIP() << "no zone in this build or tool";
  uintptr_t base = m.segments()->base;
  size_t total = g.size;
  uintptr_t expect = g.start + g.size;
  // 96 MiB, or what the zone's room holds with reservations at twice the use.
  size_t room = m.segments()->room_end - base, target = size_t{96} << 20;
  if (target > (room - (size_t{4} << 20)) / 2) target = (room - (size_t{4} << 20)) / 2;
  while (m.committed() < target) {
    ASSERT_TRUE(m.grow(size_t{1} << 20, &g));
    EXPECT_FALSE(g.new_segment);
    EXPECT_EQ(g.start, expect);  // one contiguous range, as sbrk gives
    expect = g.start + g.size;
    total += g.size;
    char* last = reinterpret_cast<char*>(g.start + g.size - 1);
    *last = 1;  // committed: writable
    EXPECT_EQ(address_map().lookup(last).object<int>(), &tag);
  }
  EXPECT_EQ(segments(m), 1u);
  EXPECT_EQ(m.segments()->base, base);
  EXPECT_LE(total, m.committed());  // every range handed out is committed
  // Reservations follow use: at most twice what is committed, plus the first 4 MiB.
  EXPECT_LE(reserved(m), 2 * m.committed() + (size_t{4} << 20));
}

TEST(HeapMemory, OpensANewSegmentWhenTheAddressesAboveAreTaken) {
  alignas(8) static int tag;
  HeapMemory m(Owner::make(OwnerKind::kHeap, &tag));
  HeapMemory::Grown g;
  ASSERT_TRUE(m.grow(1000, &g));
  if (!in_a_zone(m)) GTEST_SKIP() << "no zone in this build or tool";
  // Something else maps the page right above the reservation.
  uintptr_t above = m.segments()->end;
  ASSERT_EQ(os::reserve_at(above, page_size()), 0);
  size_t fill = m.segments()->end - m.segments()->top;
  ASSERT_TRUE(m.grow(fill, &g));  // what is left of the first reservation
  ASSERT_TRUE(m.grow(size_t{1} << 20, &g));
  EXPECT_TRUE(g.new_segment);
  EXPECT_EQ(segments(m), 2u);
  *reinterpret_cast<char*>(g.start + g.size - 1) = 1;
  os::release(above, page_size());
}

// The room above the kernel's mmap area: above the dynamic loader's mapping, below the stack by
// more than its limit, and nothing of the process mapped in it.
TEST(Zones, TheRoomAboveTheMmapAreaIsFree) {
  os::Range r = os::room_above_mmap_area(size_t{1} << 30);
  if (r.end == 0) GTEST_SKIP() << "not the top-down layout";
  ASSERT_LT(r.start, r.end);
  FILE* maps = fopen("/proc/self/maps", "r");
  ASSERT_NE(maps, nullptr);
  char line[512];
  bool loader = false, stack = false;
  while (fgets(line, sizeof line, maps)) {
    unsigned long lo, hi;
    ASSERT_EQ(sscanf(line, "%lx-%lx", &lo, &hi), 2);
    if (strstr(line, "/ld-linux")) {
      loader = true;
      EXPECT_LE(hi, r.start) << line;
    }
    if (strstr(line, "[stack]")) {
      stack = true;
      EXPECT_GE(lo, r.end + (size_t{1} << 30)) << line;
    }
    // No file: only this process's zone 0 may lie there (the heaps of the tests above).
    if (hi > r.start && lo < r.end) {
      EXPECT_EQ(strstr(line, " /"), nullptr) << "a file mapped in the room: " << line;
    }
  }
  fclose(maps);
  EXPECT_TRUE(loader);
  EXPECT_TRUE(stack);
}

TEST(AddressMap, ReplaceInChildHandsEveryGranuleOfAnOwnerToAnother) {
  alignas(8) static int a, b;
  Owner from = Owner::make(OwnerKind::kHeap, &a), to = Owner::make(OwnerKind::kBootstrap, nullptr);
  Owner other = Owner::make(OwnerKind::kHeap, &b);
  uintptr_t base = os::reserve(8 * kGranule, kGranule);
  ASSERT_NE(base, 0u);
  ASSERT_TRUE(address_map().assign(base, 3 * kGranule, from));
  ASSERT_TRUE(address_map().assign(base + 3 * kGranule, kGranule, other));
  ASSERT_TRUE(address_map().assign(base + 5 * kGranule, 2 * kGranule, from));
  address_map().replace_in_child(from, to);
  for (unsigned i = 0; i < 8; ++i) {
    Owner o = address_map().lookup(reinterpret_cast<void*>(base + i * kGranule + 100));
    if (i < 3 || i == 5 || i == 6) {
      EXPECT_EQ(o.word, to.word) << i;
    } else if (i == 3) {
      EXPECT_EQ(o.word, other.word);
    } else {
      EXPECT_EQ(o.kind(), OwnerKind::kNone) << i;
    }
  }
  address_map().clear(base, 8 * kGranule);
  os::release(base, 8 * kGranule);
}

}  // namespace
}  // namespace aixmalloc
