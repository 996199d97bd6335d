// The memory of one heap, grown like sbrk (DESIGN.md invariant 3).
//
//   segment:  | Segment record | policy's blocks ...    | top | reserved, PROT_NONE | end | room ... | room_end
//             base                                      ^ committed up to here      ^ reserved up to here
//
// A heap commits pages at the top of its segment as it grows, and reserves address space as that
// needs it: a new segment reserves 4 MiB (or what its first request needs) at the start of a zone
// of its own (zones.h), and when it is full it extends its reservation in place into the zone,
// doubling it (up to 1 GiB at a time), so reservations stay within about twice what the heap
// holds. When the zone is full, or none could be had, or the addresses above are taken, the heap
// reserves a new segment, not necessarily adjacent. A refused reservation (RLIMIT_AS) is retried
// smaller. Every committed granule is entered in the address map with the heap's owner word, so
// free() finds the heap from the pointer alone. The caller holds the heap's lock.
#pragma once

#include <cstddef>
#include <cstdint>

#include "libmalloc/base/address_map.h"
#include "libmalloc/base/reclaim.h"

namespace aixmalloc {

struct Segment {
  uintptr_t base;  // granule-aligned; this record sits at base
  uintptr_t top;   // committed end
  // End of what the policy has been given; [handed, top) is committed and kept for the next growth,
  // so that the policy's blocks stay packed below it (see HeapMemory::grow).
  uintptr_t handed;
  uintptr_t end;   // reserved end
  uintptr_t room_end;  // how far the reservation may be extended in place (its zone's end)
  Segment* next;   // older segment
  uintptr_t first_block() const;  // first byte the policy may use
};

class HeapMemory {
 public:
  struct Grown {
    uintptr_t start = 0;
    size_t size = 0;
    bool new_segment = false;  // start is the first byte of a fresh segment: nothing below to merge
  };

  explicit HeapMemory(Owner owner) : owner_(owner) {}
  // Gives every segment back. The runtime's heaps live in static storage and are never destroyed;
  // this serves heaps made by tests and tools.
  ~HeapMemory();
  HeapMemory(const HeapMemory&) = delete;
  HeapMemory& operator=(const HeapMemory&) = delete;

  // Gives `bytes` more (committing as needed) and returns the new range; `fence` more when the
  // range opens a new segment (the policy's fence at its start). False when the OS refuses.
  bool grow(size_t bytes, Grown* out, size_t fence = 0);
  // Makes room for `bytes` above the newest segment's top, extending its reservation in place, so
  // that growing by that much continues the segment. False when it cannot (no segment yet, its zone
  // is full, the addresses above are taken): growing then opens a new segment.
  bool ensure_room(size_t bytes);

  size_t committed() const { return committed_; }      // bytes acquired, AIX's "from sbrk()"
  // Of those, the bytes the policy has been given (the rest is committed above them for the next
  // growth: free, and counted with the free bytes in the statistics).
  size_t given() const;
  // Of those, what the newest segment keeps committed above the policy's blocks: the next growth
  // up to this much takes no system call and no memory the process does not already have.
  size_t kept() const { return newest_ ? newest_->top - newest_->handed : 0; }
  // [at, at + size) goes back to be handed out again, untouched, if it is the last thing handed
  // out of the newest segment (what an aligned block left above it, whose free block's prefix
  // would be the one write on its page); false, and nothing changed, otherwise.
  bool take_back(uintptr_t at, size_t size) {
    if (newest_ == nullptr || at + size != newest_->handed || at < newest_->first_block()) return false;
    newest_->handed = at;
    return true;
  }
  unsigned grow_calls() const { return grow_calls_; }  // AIX's "sbrk()s called by malloc"
  const Segment* segments() const { return newest_; }
  bool owns(uintptr_t a) const;

  // Makes every segment exactly this large, never extended in place, so tests can exercise extra
  // segments; 0 restores the ordinary growth.
  static void set_reserve_size_for_testing(size_t bytes);

 private:
  bool new_segment(size_t min_bytes);
  bool extend(Segment* seg, size_t min_bytes);

  Owner owner_;
  reclaim::Handover handover_;  // watson2's pages given back as this heap grew (reclaim.h)
  Segment* newest_ = nullptr;
  size_t committed_ = 0;
  unsigned grow_calls_ = 0;
};

}  // namespace aixmalloc
