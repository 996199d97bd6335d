// Room to grow in place, for the ranges that grow like sbrk: heap segments and the pool's area.
//
// Linux places mappings top-down, each new one right below the last, so the addresses above a
// fresh reservation are normally taken and it could never grow upwards. Such ranges start instead
// at the bottom of a zone of their own, in a part of the address space the kernel does not hand
// out by itself:
//
//   base (random, per process)                                                   kernel's mappings
//   | zone 0: range -> ... room ... | zone 1: range -> ... | ... | zone 127 |  ...  | libs, stacks |
//   18..24 TiB                                            + 128 x 128 GiB        (~127 TiB, top-down)
//
// (Below 40 TiB also keeps clear of the legacy bottom-up layout, which starts at a third of the
// address space.) A range reserves little at first and extends itself into its zone as it fills,
// so address space is taken as use needs it (RLIMIT_AS counts reservations). When no zone can be
// had (all used, or the kernel or a tool such as valgrind or a sanitizer refuses the address), the
// caller reserves wherever the kernel says and grows by other means.
#pragma once

#include <cstddef>
#include <cstdint>

namespace aixmalloc::zones {

inline constexpr size_t kZoneSize = size_t{128} << 30;
inline constexpr unsigned kZones = 128;

// Reserves `size` bytes (PROT_NONE) at the start of an unused zone; returns the start and sets
// *room_end to the zone's end, or returns 0 (no zone left or within reach, or RLIMIT_AS).
uintptr_t reserve(size_t size, uintptr_t* room_end);
// Extends a reservation that ends at `end` by `more` bytes, if nothing is mapped there and the
// kernel allows it.
bool extend(uintptr_t end, size_t more);

}  // namespace aixmalloc::zones
