// Watson2's size classes: the block size of each class, and the class of each request size
// (by 16-byte steps), computed at compile time. For watson2's own files.
#pragma once

#include <cstdint>
#include <initializer_list>

#include "policies/watson2.h"

namespace aixmalloc::watson2 {

// 16-byte steps to 128, eight classes a doubling to 512 (at most 12.5% lost to rounding), then six:
// a power of two and 16 bytes, an eighth, a quarter, a half, three quarters, the next power. The
// sizes programs ask for most above 512 bytes are a power of two and a small header (sqlite3's page
// cache: 1032 and 4368 bytes), which plain steps round up by an eighth or a quarter; eight steps a
// doubling kept 7% more memory in threads that pass blocks around (each thread's class holds
// blocks of its own: more classes, more memory kept apart). From 4 KiB to 8 KiB, where a page holds
// 8 to 15 blocks, the classes are the sizes that fill a page (64 KiB / n): a page of 4608-byte
// blocks ended in a piece that the last block's 4 KiB page made resident, and sqlite3's blocks of
// 4368 bytes (15 to a page exactly) took 4608 (its peak 17.7 -> 17.2 MiB, glibc 16.8).
struct SizeTable {
  uint16_t size[kClasses];
};
constexpr SizeTable make_sizes() {
  SizeTable t{};
  unsigned c = 0;
  for (unsigned s = 16; s <= 128; s += 16) t.size[c++] = static_cast<uint16_t>(s);
  for (unsigned base = 128; base < 512; base *= 2)
    for (unsigned k = 1; k <= 8; ++k) t.size[c++] = static_cast<uint16_t>(base + base / 8 * k);
  for (unsigned base = 512; base < kMaxSmall; base *= 2) {
    t.size[c++] = static_cast<uint16_t>(base + 16);
    if (base == 4096) {
      // Pages of 15 blocks down to 9, then 8: no room left over at the end of a page that a
      // block's last 4 KiB would make resident, and each class 6-12.5 % above the one before.
      for (unsigned n = 15; n >= 9; --n) t.size[c++] = static_cast<uint16_t>(kPageSize / n / 16 * 16);
      t.size[c++] = static_cast<uint16_t>(2 * base);
      continue;
    }
    for (unsigned eighths : {1, 2, 4, 6, 8}) t.size[c++] = static_cast<uint16_t>(base + base / 8 * eighths);
  }
  return t;
}
inline constexpr SizeTable kSizeTable = make_sizes();
inline constexpr const uint16_t (&kSizes)[kClasses] = kSizeTable.size;
static_assert(kSizeTable.size[kClasses - 1] == kMaxSmall);
static_assert(kSizeTable.size[kFirstShared] == 1024 && kSizeTable.size[kFirstShared - 1] == 896);
static_assert(kPageSize / kMaxSmall >= 2);  // page_changed(): a full page given a block back is not empty

constexpr ClassTable make_class_table() {
  ClassTable t{};
  unsigned c = 0;
  for (unsigned i = 0; i <= kMaxSmall / 16; ++i) {
    while (kSizes[c] < i * 16) ++c;
    t.of[i] = static_cast<uint8_t>(c);
  }
  return t;
}

}  // namespace aixmalloc::watson2
