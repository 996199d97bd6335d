// The zones of zones.h: one base per process, picked at random, and a zone after it for each
// heap segment or pool area, reserved a little at a time so that the range can grow in place.
#include "libmalloc/base/zones.h"

#include <errno.h>

#include <atomic>

#include "libmalloc/base/os.h"
#include "libmalloc/base/platform.h"

// ThreadSanitizer keeps the program to address ranges of its own: its mmap interceptor drops an
// address outside them, and then kills the process when the kernel maps the range elsewhere. So a
// TSan build (the unit and threads tests) has no zones, and grows by new ranges.
#ifdef AIXMALLOC_TSAN
#define AIXMALLOC_NO_ZONES 1
#else
#define AIXMALLOC_NO_ZONES 0
#endif

namespace aixmalloc::zones {
namespace {

constexpr uintptr_t kLow = uintptr_t{18} << 40;   // 18 TiB
constexpr uintptr_t kSpread = uintptr_t{6} << 40; // the base falls in [18, 24) TiB
constexpr unsigned kTries = 4;                    // zones tried before giving up

constinit std::atomic<uintptr_t> g_base{0};
constinit std::atomic<unsigned> g_next{0};

// Two zones lie where the kernel's layout leaves room right above its mmap area
// (os::room_above_mmap_area), when there is at least kMinNear of it: a small one at the room's
// start, with kNearSmall of room, for a heap's first segment (a heap whose segment is full goes
// on in another range), and right above it a large one, up to kZoneSize, for the first range
// that needs room to grow (watson2's, the pool's), or a heap when the small one is taken. Their
// first pages share the page tables of the libraries below them: a zone far from every mapping
// allocates a page-table page at each level at its first touch, which cost every short-lived
// process more than the rest of the allocator's start (zones.h). At random within kNearSpread
// granules of the room's start; the other zones as above.
constexpr size_t kStackMargin = size_t{1} << 30;  // room left to a program that raises its stack limit
constexpr size_t kMinNear = size_t{4} << 30;
constexpr size_t kNearSmall = size_t{128} << 20;
constexpr unsigned kNearSpread = 1024;  // 64 MiB
constexpr uintptr_t kUnknown = 1;
constinit std::atomic<uintptr_t> g_near{kUnknown};  // the small zone's start; 0 when there is none
constinit std::atomic<uintptr_t> g_near_top{0};     // the room's end, the same for every thread
enum NearZone { kSmall, kLarge };
constinit std::atomic<bool> g_near_tried[2] = {};

// The zones' base: chosen once, at random, granule-aligned (about 26 bits of entropy).
uintptr_t base() {
  uintptr_t b = g_base.load(std::memory_order_acquire);
  if (b != 0) return b;
  uintptr_t fresh = kLow + align_down(os::random_bits() % kSpread, kGranule);
  uintptr_t expected = 0;
  return g_base.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel) ? fresh : expected;
}

// The start of the room's small zone, or 0 (the room's end in *top). The threads that ask first
// all store the same top before one of them publishes its start.
uintptr_t near_start(uintptr_t* top) {
  uintptr_t start = g_near.load(std::memory_order_acquire);
  if (start == kUnknown) {
    os::Range r = os::room_above_mmap_area(kStackMargin);
    uintptr_t lo = align_up(r.start, kGranule), hi = align_down(r.end, kGranule);
    uintptr_t fresh = 0;
    if (r.end != 0 && hi > lo && hi - lo >= kMinNear) {
      g_near_top.store(hi, std::memory_order_relaxed);
      fresh = lo + (os::random_bits() % kNearSpread) * kGranule;
    }
    uintptr_t expected = kUnknown;
    start = g_near.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel) ? fresh : expected;
  }
  *top = g_near_top.load(std::memory_order_relaxed);
  return start;
}

// Claims one of the near zones for a first reservation of `size`, `skip` bytes into it: the
// reservation's start (*room_end the zone's end), or 0. Each is tried once in the process's life
// (by one thread), as the far zones are.
uintptr_t reserve_near(NearZone which, size_t size, size_t skip, uintptr_t* room_end, int* err) {
  uintptr_t top;
  uintptr_t small = near_start(&top);
  if (small == 0 || g_near_tried[which].exchange(true, std::memory_order_relaxed)) return 0;
  uintptr_t start = which == kSmall ? small : small + kNearSmall;
  uintptr_t stop = which == kSmall ? small + kNearSmall : top - start > kZoneSize ? start + kZoneSize : top;
  if (skip + size > stop - start) return 0;
  *err = os::reserve_at(start + skip, size);
  if (*err != 0) return 0;
  *room_end = stop;
  return start + skip;
}

}  // namespace

// A zone is claimed by reserving its start (the kernel arbitrates between threads that try the
// same one); the counter then moves past it. A zone whose start is taken is skipped.
uintptr_t reserve(size_t size, uintptr_t* room_end, bool goes_on, size_t skip) {
  if (AIXMALLOC_NO_ZONES || skip + size > kZoneSize) return 0;
  int err = 0;
  if (goes_on)
    if (uintptr_t start = reserve_near(kSmall, size, skip, room_end, &err)) return start;
  if (err == ENOMEM) return 0;
  if (uintptr_t start = reserve_near(kLarge, size, skip, room_end, &err)) return start;
  if (err == ENOMEM) return 0;
  for (unsigned taken = 0; taken < kTries;) {
    unsigned zone = g_next.load(std::memory_order_relaxed);
    if (zone >= kZones) return 0;
    // Claimed from its start, which every thread that tries this zone asks for.
    uintptr_t start = base() + uintptr_t{zone} * kZoneSize;
    err = os::reserve_at(start, skip + size);
    if (err == ENOMEM) return 0;  // RLIMIT_AS: the caller asks for less, anywhere
    g_next.compare_exchange_strong(zone, zone + 1, std::memory_order_relaxed);
    if (err == 0) {
      if (skip != 0) os::release(start, skip);
      *room_end = start + kZoneSize;
      return start + skip;
    }
    ++taken;
  }
  // Taken or refused every time: the zones are out of reach in this process (a sanitizer's or
  // valgrind's layout, or mappings of the program's own); stop asking.
  g_next.store(kZones, std::memory_order_relaxed);
  return 0;
}

bool extend(uintptr_t end, size_t more) { return !AIXMALLOC_NO_ZONES && os::reserve_at(end, more) == 0; }

size_t within_address_limit(size_t size, size_t unit) {
  size_t limit = os::address_space_limit();
  if (limit != SIZE_MAX && size > limit / 8) size = align_down(limit / 8, unit);
  return size < unit ? unit : size;
}

bool GrowingArea::open(size_t first, size_t no_zone, size_t unit) {
  size_t size = within_address_limit(first, unit);
  uintptr_t room_end = 0;
  uintptr_t start = reserve(size, &room_end);
  in_zone = start != 0;
  if (!in_zone) {
    size = within_address_limit(no_zone, unit);
    while (start == 0 && size >= unit) {
      start = os::reserve(size, unit);
      if (start == 0) size = align_down(size / 2, unit);
    }
    if (start == 0) return false;
    room_end = start + size;
  }
  base = start;
  reserved = size;
  room = room_end - start;
  return true;
}

bool GrowingArea::grow(size_t unit, size_t max_step) {
  size_t left = room - reserved;
  if (left < unit) return false;
  size_t more = within_address_limit(align_up(reserved < max_step ? reserved : max_step, unit), unit);
  if (more > left) more = align_down(left, unit);
  while (!extend(base + reserved, more)) {
    if (more == unit) return false;
    more = unit;
  }
  reserved += more;
  return true;
}

}  // namespace aixmalloc::zones
