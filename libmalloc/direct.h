// Large blocks: a request of kDirectThreshold bytes or more gets an address range of its own,
// mapped for it and unmapped when it is freed (DESIGN.md invariant 3: found through the address map
// like every other block). Independent of the policy, so every MALLOCTYPE shares it.
//
//   | ... padding for alignment ... | prefix: mapping size, kDirectMagic ^ prefix | user data |
//   base (granule-aligned, the owner word points here)  ^ user pointer - 16
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "libmalloc/address_map.h"

namespace aixmalloc::direct {

void* allocate(size_t size, size_t align);
// True when p is the user pointer of the direct block that `owner` names.
bool valid(void* p, Owner owner);
void release(void* p, Owner owner);
size_t usable_size(void* p, Owner owner);
// Resizes a direct block to another direct-sized block, in place or by mremap; nullptr on failure
// (p intact) or when the block is over-aligned and cannot be remapped.
void* reallocate(void* p, Owner owner, size_t size);

struct Totals {
  uint64_t blocks, bytes, max_blocks, max_bytes, allocations;
};
Totals totals();

}  // namespace aixmalloc::direct
