// Large blocks: a request of kLargeThreshold bytes or more gets an address range of its own,
// mapped for it and unmapped when it is freed (DESIGN.md invariant 3: found through the address map
// like every other block), after up to a second in a small cache of freed ranges that the next
// large requests reuse (large_blocks.cpp). Independent of the policy, so every MALLOCTYPE shares it.
//
//   | ... padding for alignment ... | prefix: mapping size, kLargeMagic ^ prefix | user data |
//   base (granule-aligned, the owner word points here)  ^ user pointer - 16
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "libmalloc/base/address_map.h"
#include "libmalloc/base/lock.h"
#include "libmalloc/base/statistics.h"

namespace aixmalloc::large {

void* allocate(size_t size, size_t align);
// calloc: zeroes the block when its range was reused from the cache (a fresh range is zero).
void clear_if_reused(void* p, size_t size);
// malloc_trim: unmaps every cached range; returns the bytes given back.
size_t drop_cache();
// A heap is about to take fresh pages from the system: unmaps the cached ranges idle for 0.1 s or
// more. One relaxed load when nothing is cached. May be called with a heap's lock held: it only
// tries the cache's lock (taken before the heaps' at fork), and does nothing when that is busy.
void before_growth();
// True when p is the user pointer of the large block that `owner` names.
bool valid(void* p, Owner owner);
// True when p is a freed large block whose range is still cached: a second free.
bool freed(void* p, Owner owner);
void release(void* p, Owner owner);
size_t usable_size(void* p, Owner owner);
// Resizes a large block to another large block, in place or by mremap; nullptr on failure
// (p intact) or when the block is over-aligned and cannot be remapped.
void* reallocate(void* p, Owner owner, size_t size);

// The figures of the large blocks and of the cache of freed ranges.
LargeFigures totals();

// The cache's lock, taken at fork.
Lock& fork_lock();
// In a child forked without the locks (libmalloc/fork.cpp): a cache caught in the middle of a change
// is emptied (its ranges stay mapped, unused).
void set_aside_in_child();

}  // namespace aixmalloc::large
