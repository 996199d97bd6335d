// Records the allocator keeps for itself (per-thread caches): fixed storage from the OS, carved in
// 64-byte-aligned pieces and never given back (records are reused by their owners), so nothing is
// ever allocated through malloc (DESIGN.md invariant 2).
#pragma once

#include <atomic>
#include <cstddef>

namespace aixmalloc {

void* meta_allocate(size_t size);  // zeroed; nullptr when the OS refuses
// The room of a layer's large table that is not kept inside the layer (the policy's heaps, the
// thread caches' depots): the first claim gets `fixed`, the library's own zeroed table of `size`
// bytes in .bss, and a later one (a second stack, built by a test) meta_allocate(size). A table
// inside the configured stack put the few words of the layers above it pages away from the
// others: two pages that every process touched as it started.
inline void* claim_room(std::atomic<bool>& claimed, void* fixed, size_t size) {
  if (!claimed.exchange(true, std::memory_order_relaxed)) return fixed;
  return meta_allocate(size);
}

// pthread_atfork.
void meta_lock_for_fork();
void meta_unlock_after_fork();
void meta_reset_in_child();
// In a child forked without the locks (libmalloc/fork.cpp): a carving caught half-way starts over
// in fresh storage.
void meta_set_aside_in_child();

}  // namespace aixmalloc
