// Records the allocator keeps for itself (per-thread caches): fixed storage from the OS, carved in
// 64-byte-aligned pieces and never given back (records are reused by their owners), so nothing is
// ever allocated through malloc (DESIGN.md invariant 2).
#pragma once

#include <cstddef>

namespace aixmalloc {

void* meta_allocate(size_t size);  // zeroed; nullptr when the OS refuses

// pthread_atfork.
void meta_lock_for_fork();
void meta_unlock_after_fork();
void meta_reset_in_child();
// In a child forked without the locks (libmalloc/fork.cpp): a carving caught half-way starts over
// in fresh storage.
void meta_set_aside_in_child();

}  // namespace aixmalloc
