// The address map answers "who owns p" for every byte of an assigned range and nothing else, and the
// formatter writes what the reports need without malloc.
#include "libmalloc/base/address_map.h"

#include <gtest/gtest.h>

#include <sys/mman.h>

#include <memory>
#include <new>

#include "libmalloc/base/format.h"
#include "libmalloc/base/os.h"

namespace aixmalloc {
namespace {

TEST(AddressMap, OwnsExactlyTheAssignedGranules) {
  alignas(8) static int tag;
  uintptr_t base = os::reserve(4 * kGranule, kGranule);
  ASSERT_NE(base, 0u);
  Owner owner = Owner::make(OwnerKind::kHeap, &tag);
  ASSERT_TRUE(address_map().assign(base + kGranule, 2 * kGranule, owner));
  auto at = [](uintptr_t a) { return address_map().lookup(reinterpret_cast<void*>(a)); };
  EXPECT_EQ(at(base).kind(), OwnerKind::kNone);
  EXPECT_EQ(at(base + kGranule - 1).kind(), OwnerKind::kNone);
  EXPECT_EQ(at(base + kGranule).word, owner.word);
  EXPECT_EQ(at(base + 3 * kGranule - 1).object<int>(), &tag);
  EXPECT_EQ(at(base + 3 * kGranule).kind(), OwnerKind::kNone);
  address_map().clear(base + kGranule, 2 * kGranule);
  EXPECT_EQ(at(base + kGranule).kind(), OwnerKind::kNone);
  os::release(base, 4 * kGranule);
}

// The first 4 GiB region that gets a leaf keeps it beside the map's first words, the others in the
// table: lookups, clears and a forked child's hand-over find both alike. The addresses are only
// numbers here (the map never reads the memory it describes), in a map of the test's own.
TEST(AddressMap, TheFirstLeafAndTheTableServeAlike) {
  alignas(8) static int a, b;
  auto map = std::make_unique<AddressMap>();
  Owner first = Owner::make(OwnerKind::kHeap, &a), second = Owner::make(OwnerKind::kLarge, &b);
  uintptr_t r1 = uintptr_t{5} << 32, r2 = uintptr_t{9} << 32;
  ASSERT_TRUE(map->assign(r1 + kGranule, 2 * kGranule, first));
  ASSERT_TRUE(map->assign(r2, kGranule, second));
  ASSERT_TRUE(map->assign(r1 + 8 * kGranule, kGranule, second));
  auto at = [&](uintptr_t p) { return map->lookup(reinterpret_cast<void*>(p)); };
  EXPECT_EQ(at(r1).kind(), OwnerKind::kNone);
  EXPECT_EQ(at(r1 + kGranule).word, first.word);
  EXPECT_EQ(at(r1 + 3 * kGranule - 1).word, first.word);
  EXPECT_EQ(at(r1 + 8 * kGranule + 5).word, second.word);
  EXPECT_EQ(at(r2 + kGranule - 1).word, second.word);
  EXPECT_EQ(at(r2 + kGranule).kind(), OwnerKind::kNone);
  EXPECT_EQ(at((uintptr_t{5} << 32) - 1).kind(), OwnerKind::kNone);  // the region below
  EXPECT_EQ(at(uintptr_t{6} << 32).kind(), OwnerKind::kNone);        // and above
  Owner set_aside = Owner::make(OwnerKind::kBootstrap, nullptr);
  map->replace_in_child(second, set_aside);
  EXPECT_EQ(at(r1 + 8 * kGranule).word, set_aside.word);
  EXPECT_EQ(at(r2).word, set_aside.word);
  EXPECT_EQ(at(r1 + kGranule).word, first.word);
  map->clear(r1 + kGranule, 2 * kGranule);
  map->clear(r2, kGranule);
  EXPECT_EQ(at(r1 + kGranule).kind(), OwnerKind::kNone);
  EXPECT_EQ(at(r2).kind(), OwnerKind::kNone);
}

// What the first leaf is for: a map whose table's pages cannot be read or written (all but the page
// of its first words) serves a region, lookups, clears and a second assignment there without
// touching the table; reading it would end the test with SIGSEGV.
TEST(AddressMap, OneRegionNeverTouchesTheTable) {
  const size_t page = page_size(), bytes = (sizeof(AddressMap) + page - 1) & ~(page - 1);
  uintptr_t mem = os::map(bytes, page);
  ASSERT_NE(mem, 0u);
  auto* map = new (reinterpret_cast<void*>(mem)) AddressMap();
  ASSERT_EQ(mprotect(reinterpret_cast<void*>(mem + page), bytes - page, PROT_NONE), 0);
  alignas(8) static int a;
  Owner owner = Owner::make(OwnerKind::kHeap, &a);
  uintptr_t region = uintptr_t{0x7f00} << 32;  // its table entry lies on a protected page
  ASSERT_TRUE(map->assign(region + 4 * kGranule, 2 * kGranule, owner));
  ASSERT_TRUE(map->assign(region + 9 * kGranule, kGranule, owner));
  EXPECT_EQ(map->lookup(reinterpret_cast<void*>(region + 5 * kGranule + 8)).word, owner.word);
  EXPECT_EQ(map->lookup(reinterpret_cast<void*>(region + 9 * kGranule)).word, owner.word);
  EXPECT_EQ(map->lookup(reinterpret_cast<void*>(region)).kind(), OwnerKind::kNone);
  map->clear(region + 4 * kGranule, 2 * kGranule);
  EXPECT_EQ(map->lookup(reinterpret_cast<void*>(region + 4 * kGranule)).kind(), OwnerKind::kNone);
  ASSERT_EQ(mprotect(reinterpret_cast<void*>(mem + page), bytes - page, PROT_READ | PROT_WRITE), 0);
  os::release(mem, bytes);
}

TEST(AddressMap, AddressesOutsideTheMapAreNobodys) {
  EXPECT_EQ(address_map().lookup(nullptr).kind(), OwnerKind::kNone);
  EXPECT_EQ(address_map().lookup(reinterpret_cast<void*>(~uintptr_t{0})).kind(), OwnerKind::kNone);
  int local;
  EXPECT_EQ(address_map().lookup(&local).kind(), OwnerKind::kNone);
}

TEST(Format, NumbersHexAndQuoting) {
  TextBuf<128> t;
  t.num(0).ch(' ').num(18446744073709551615ull).ch(' ').hex(0).ch(' ').hex(0xdeadbeef);
  EXPECT_STREQ(t.c_str(), "0 18446744073709551615 0x0 0xdeadbeef");
  t.clear();
  t.num(42, 6).ch('|').quoted("a'b\n", 4);
  EXPECT_STREQ(t.c_str(), "    42|'a\\x27b\\x0a'");
  TextBuf<8> small;
  small.str("0123456789");
  EXPECT_TRUE(small.truncated());
  EXPECT_STREQ(small.c_str(), "0123456");
}

}  // namespace
}  // namespace aixmalloc
