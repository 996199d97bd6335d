// HeapMemory (heap_memory.h): how large a segment to reserve (less under RLIMIT_AS, halved while
// the kernel refuses), and the growth step that commits pages at the top of the newest segment.
#include "libmalloc/base/heap_memory.h"

#include "libmalloc/base/large_blocks.h"
#include "libmalloc/base/os.h"
#include "libmalloc/base/platform.h"
#include "libmalloc/base/zones.h"

namespace aixmalloc {

namespace {

constexpr size_t kFirstReserve = size_t{4} << 20;  // a new segment's reservation
constexpr size_t kMaxExtend = size_t{1} << 30;     // one extension in place, at most
constexpr size_t kMaxStep = size_t{16} << 20;
size_t g_reserve_override = 0;

// Under RLIMIT_AS, never take more than a sixteenth of the limit in one reservation, unless the
// request itself needs more: PROT_NONE address space counts against the limit, and the program
// needs room for its own mappings.
size_t within_limit(size_t size, size_t need) {
  size_t limit = os::address_space_limit();
  if (limit != SIZE_MAX && size > limit / 16) size = align_down(limit / 16, kGranule);
  return size < need ? need : size;
}

}  // namespace

void HeapMemory::set_reserve_size_for_testing(size_t bytes) { g_reserve_override = bytes; }

uintptr_t Segment::first_block() const {
  return align_up(base + sizeof(Segment), kAlignment);
}

HeapMemory::~HeapMemory() {
  for (Segment* s = newest_; s;) {
    Segment* next = s->next;
    uintptr_t base = s->base, top = s->top, end = s->end;
    address_map().clear(base, top - base);
    os::release(base, end - base);
    s = next;
  }
}

bool HeapMemory::owns(uintptr_t a) const {
  for (const Segment* s = newest_; s; s = s->next)
    if (a >= s->base && a < s->top) return true;
  return false;
}

bool HeapMemory::new_segment(size_t min_bytes) {
  size_t want = align_up(min_bytes + sizeof(Segment) + kAlignment, kGranule);
  size_t size = within_limit(g_reserve_override ? g_reserve_override : kFirstReserve, want);
  uintptr_t base = 0, room_end = 0;
  if (g_reserve_override == 0) base = zones::reserve(size, &room_end);
  bool dropped = false;
  while (base == 0) {
    base = os::reserve(size, kGranule);
    room_end = base + size;  // wherever the kernel put it: no room above to count on
    if (base != 0) break;
    if (size / 2 >= want) {
      size = align_up(size / 2, kGranule);
    } else if (dropped || large::drop_cache() == 0) {
      return false;  // even the smallest useful range was refused
    } else {
      dropped = true;  // RLIMIT_AS counts the cached large ranges too: they went back; once more
    }
  }
  if (!os::commit(base, kGranule) || !address_map().assign(base, kGranule, owner_)) {
    address_map().clear(base, kGranule);
    os::release(base, size);
    return false;
  }
  auto* seg = reinterpret_cast<Segment*>(base);
  seg->base = base;
  seg->top = base + kGranule;
  seg->end = base + size;
  seg->room_end = room_end;
  seg->next = newest_;
  newest_ = seg;
  committed_ += kGranule;
  return true;
}

// Extends the newest segment's reservation in place so that `bytes` fit above its top: at least
// that, and as much again as the segment has (up to kMaxExtend), within its zone.
bool HeapMemory::extend(Segment* seg, size_t bytes) {
  if (seg->end - seg->top >= bytes) return true;
  if (g_reserve_override != 0) return false;
  size_t need = align_up(bytes - (seg->end - seg->top), kGranule);
  size_t more = seg->end - seg->base;
  if (more > kMaxExtend) more = kMaxExtend;
  more = within_limit(align_up(more, kGranule), need);
  if (more > seg->room_end - seg->end) more = seg->room_end - seg->end;
  if (more < need) return false;
  while (!zones::extend(seg->end, more)) {
    if (more == need) return false;  // the addresses above are taken, or the limit is reached
    more = need;
  }
  seg->end += more;
  return true;
}

bool HeapMemory::ensure_room(size_t bytes) { return newest_ && extend(newest_, align_up(bytes, kAlignment)); }

bool HeapMemory::grow(size_t bytes, Grown* out) {
  large::before_growth();
  bytes = align_up(bytes, kAlignment);
  Segment* seg = newest_;
  bool fresh = false;
  if (seg == nullptr || !extend(seg, bytes)) {
    if (!new_segment(bytes)) return false;
    seg = newest_;
    fresh = true;
  }
  if (fresh) {
    // The first granule is committed already; hand it out before committing more.
    out->start = seg->first_block();
    out->size = seg->top - out->start;
    out->new_segment = true;
    if (out->size >= bytes) {
      ++grow_calls_;
      return true;
    }
    bytes -= out->size;
  } else {
    out->start = seg->top;
    out->size = 0;
    out->new_segment = false;
  }
  // Step: at least what was asked, and about an eighth of the heap so far (64 KiB to 16 MiB), so a
  // growing heap makes few system calls; untouched committed pages cost no physical memory.
  size_t step = committed_ / 8;
  if (step < kGranule) step = kGranule;
  if (step > kMaxStep) step = kMaxStep;
  step = align_up(bytes > step ? bytes : step, kGranule);
  if (step > seg->end - seg->top && !extend(seg, step)) step = seg->end - seg->top;
  if (step < bytes) return fresh && out->size > 0;
  if (!os::commit(seg->top, step)) return fresh && out->size > 0;
  if (!address_map().assign(seg->top, step, owner_)) return fresh && out->size > 0;
  seg->top += step;
  committed_ += step;
  out->size += step;
  ++grow_calls_;
  return true;
}

}  // namespace aixmalloc
