// HeapMemory (heap_memory.h): how large a segment to reserve (less under RLIMIT_AS, halved while
// the kernel refuses), and the growth step that commits pages at the top of the newest segment.
#include "libmalloc/base/heap_memory.h"

#include "libmalloc/base/os.h"
#include "libmalloc/base/platform.h"

namespace aixmalloc {

namespace {

constexpr size_t kDefaultReserve = size_t{1} << 30;  // 1 GiB of address space per segment
constexpr size_t kMinReserve = size_t{4} << 20;
constexpr size_t kMaxStep = size_t{16} << 20;
size_t g_reserve_override = 0;

size_t reserve_size_for(size_t min_bytes) {
  size_t size = g_reserve_override ? g_reserve_override : kDefaultReserve;
  // Under RLIMIT_AS, never take more than a sixteenth of the limit in one reservation: PROT_NONE
  // address space counts against it, and the program needs room for its own mappings.
  size_t limit = os::address_space_limit();
  if (limit != SIZE_MAX && size > limit / 16) size = align_down(limit / 16, kGranule);
  if (size < kMinReserve) size = kMinReserve;
  if (size < min_bytes) size = align_up(min_bytes, kGranule);
  return size;
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
  size_t size = reserve_size_for(want);
  uintptr_t base = 0;
  while (base == 0) {
    base = os::reserve(size, kGranule);
    if (base != 0) break;
    if (size / 2 < want) return false;  // even the smallest useful range was refused
    size = align_up(size / 2, kGranule);
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
  seg->next = newest_;
  newest_ = seg;
  committed_ += kGranule;
  return true;
}

bool HeapMemory::grow(size_t bytes, Grown* out) {
  bytes = align_up(bytes, kAlignment);
  Segment* seg = newest_;
  bool fresh = false;
  if (seg == nullptr || seg->end - seg->top < bytes) {
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
  if (step > seg->end - seg->top) step = seg->end - seg->top;
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
