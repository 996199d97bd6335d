// HeapMemory (heap_memory.h): how large a segment to reserve (less under RLIMIT_AS, halved while
// the kernel refuses), and the growth step that commits pages at the top of the newest segment.
#include "libmalloc/base/heap_memory.h"

#include "libmalloc/base/large_blocks.h"
#include "libmalloc/base/os.h"
#include "libmalloc/base/platform.h"
#include "libmalloc/base/reclaim.h"
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

size_t HeapMemory::given() const {
  size_t kept = 0;
  for (const Segment* s = newest_; s; s = s->next) kept += s->top - s->handed;
  return committed_ - kept;
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
  if (g_reserve_override == 0) base = zones::reserve(size, &room_end, true);
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
  seg->handed = seg->first_block();
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

bool HeapMemory::grow(size_t bytes, Grown* out, size_t fence) {
  large::before_growth();
  bytes = align_up(bytes, kAlignment);
  Segment* seg = newest_;
  bool fresh = false;
  if (seg == nullptr || (seg->top - seg->handed < bytes && !extend(seg, bytes - (seg->top - seg->handed)))) {
    bytes += align_up(fence, kAlignment);
    if (!new_segment(bytes)) return false;
    seg = newest_;
    fresh = true;
  }
  // The policy gets what it asked for, no more: a block it carves from a larger growth would leave
  // committed pages inside its free blocks that no request has touched, and a later request placed
  // over them would raise the process's resident size for nothing (a program that allocates the
  // same buffers round after round peaked 9 % above its first round under Watson's tail rule).
  // The rest of the step stays committed above `handed` for the next growth.
  size_t have = seg->top - seg->handed;
  if (have < bytes) {
    // Step: at least what is lacking, and about an eighth of the heap so far (64 KiB to 16 MiB), so
    // a growing heap makes few system calls; committed pages not yet touched cost no memory.
    size_t lack = bytes - have;
    size_t step = committed_ / 8;
    if (step < kGranule) step = kGranule;
    if (step > kMaxStep) step = kMaxStep;
    step = align_up(lack > step ? lack : step, kGranule);
    if (step > seg->end - seg->top && !extend(seg, step)) step = seg->end - seg->top;
    if (step < lack) return false;
    // Fresh memory: watson2's resident empty pages go first, and as much of the growth is
    // populated below.
    handover_.add(reclaim::before_growth(reclaim::pages, step));
    if (!os::commit(seg->top, step)) return false;
    if (!address_map().assign(seg->top, step, owner_)) return false;
    seg->top += step;
    committed_ += step;
    ++grow_calls_;
  }
  // What is left above, when too small to be handed out on its own, goes with this growth.
  if (seg->top - seg->handed - bytes < kGranule / 16) bytes = seg->top - seg->handed;
  out->start = seg->handed;
  out->size = bytes;
  out->new_segment = fresh;
  seg->handed += bytes;
  if (size_t n = handover_.take(bytes)) {
    uintptr_t lo = align_down(out->start, page_size()), hi = align_up(out->start + n, page_size());
    os::populate(lo, hi - lo);
  }
  if (fresh) ++grow_calls_;
  return true;
}

}  // namespace aixmalloc
