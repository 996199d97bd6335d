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

// The zones' base: chosen once, at random, granule-aligned (about 26 bits of entropy).
uintptr_t base() {
  uintptr_t b = g_base.load(std::memory_order_acquire);
  if (b != 0) return b;
  uintptr_t fresh = kLow + align_down(os::random_bits() % kSpread, kGranule);
  uintptr_t expected = 0;
  return g_base.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel) ? fresh : expected;
}

}  // namespace

// A zone is claimed by reserving its start (the kernel arbitrates between threads that try the
// same one); the counter then moves past it. A zone whose start is taken is skipped.
uintptr_t reserve(size_t size, uintptr_t* room_end) {
  if (AIXMALLOC_NO_ZONES || size > kZoneSize) return 0;
  for (unsigned taken = 0; taken < kTries;) {
    unsigned zone = g_next.load(std::memory_order_relaxed);
    if (zone >= kZones) return 0;
    uintptr_t start = base() + uintptr_t{zone} * kZoneSize;
    int err = os::reserve_at(start, size);
    if (err == ENOMEM) return 0;  // RLIMIT_AS: the caller asks for less, anywhere
    g_next.compare_exchange_strong(zone, zone + 1, std::memory_order_relaxed);
    if (err == 0) {
      *room_end = start + kZoneSize;
      return start;
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
