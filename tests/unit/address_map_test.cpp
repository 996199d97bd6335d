// The address map answers "who owns p" for every byte of an assigned range and nothing else, and the
// formatter writes what the reports need without malloc.
#include "libmalloc/base/address_map.h"

#include <gtest/gtest.h>

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
