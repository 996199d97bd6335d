// The memory of one heap, grown like sbrk (DESIGN.md invariant 3).
//
//   segment:  | Segment record | policy's blocks ...           | top | reserved, PROT_NONE ... | end
//             base                                             ^ committed up to here
//
// A heap reserves a large range and commits pages at its top as it grows. When a reservation is
// refused (RLIMIT_AS, valgrind) it asks for less; when a segment is full it reserves another, not
// necessarily adjacent. Every committed granule is entered in the address map with the heap's owner
// word, so free() finds the heap from the pointer alone. The caller holds the heap's lock.
#pragma once

#include <cstddef>
#include <cstdint>

#include "libmalloc/base/address_map.h"

namespace aixmalloc {

struct Segment {
  uintptr_t base;  // granule-aligned; this record sits at base
  uintptr_t top;   // committed end
  uintptr_t end;   // reserved end
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

  // Commits at least `bytes` more and returns the new range. False when the OS refuses.
  bool grow(size_t bytes, Grown* out);

  size_t committed() const { return committed_; }      // bytes acquired, AIX's "from sbrk()"
  unsigned grow_calls() const { return grow_calls_; }  // AIX's "sbrk()s called by malloc"
  const Segment* segments() const { return newest_; }
  bool owns(uintptr_t a) const;

  // The reservation size a new heap starts with; tests shrink it to exercise extra segments.
  static void set_reserve_size_for_testing(size_t bytes);

 private:
  bool new_segment(size_t min_bytes);

  Owner owner_;
  Segment* newest_ = nullptr;
  size_t committed_ = 0;
  unsigned grow_calls_ = 0;
};

}  // namespace aixmalloc
