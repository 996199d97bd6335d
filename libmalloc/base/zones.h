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
// The first two ranges start closer, where the kernel leaves room above its own mappings:
//   ... libraries, ld.so | small zone (128 MiB) | large zone (up to 128 GiB) | ... | stack
// (zones.cpp says why and which ranges take them).
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

// Reserves `size` bytes (PROT_NONE) at the start of an unused zone, or `skip` bytes into it (the
// zone's first `skip` bytes left to the caller, to reserve as it grows downwards); returns the
// reservation's start and sets *room_end to the zone's end, or returns 0 (no zone left or within
// reach, or RLIMIT_AS). `goes_on`: the caller continues in another range when this one is full
// (a heap), so a zone with less room will do.
uintptr_t reserve(size_t size, uintptr_t* room_end, bool goes_on = false, size_t skip = 0);
// Extends a reservation that ends at `end` by `more` bytes, if nothing is mapped there and the
// kernel allows it.
bool extend(uintptr_t end, size_t more);

// An area of `unit`-sized pages that grows in place like sbrk (the pool's, watson2's):
//   [base, base + reserved) reserved so far  |  up to base + room: where it may grow
// open() reserves `first` bytes at the start of a zone (room: the zone), or without one `no_zone`
// bytes wherever the kernel puts them, halved until it gives them (room: what it gave). Each size
// is cut to an eighth of RLIMIT_AS. grow() extends the reservation in place by as much again as
// it has (at most `max_step`), or by a single unit when that much is refused; false when the room
// or the address space is used up. The owner serialises grow() with its own lock.
struct GrowingArea {
  uintptr_t base = 0;
  size_t reserved = 0;
  size_t room = 0;
  bool in_zone = false;
  bool open(size_t first, size_t no_zone, size_t unit);
  bool grow(size_t unit, size_t max_step);
};
// Under RLIMIT_AS, at most an eighth of the limit in one reservation (but at least a unit).
size_t within_address_limit(size_t size, size_t unit);

}  // namespace aixmalloc::zones
