// calloc and fresh memory. The system gives a heap zeroed pages; a policy that knows part of a
// block it hands out has never been written since (neither by the program nor by the heap's own
// bookkeeping) notes that part here, and calloc clears only the rest of the block. Without it, a
// calloc of a large table that the program fills sparsely (python3's allocator asks for 384 KiB at
// start-up) makes every page of it resident; glibc skips the same clearing on memory fresh from
// the system.
//
// The note is this thread's and lives from the policy's allocate to the clear that follows it in
// the same calloc: calloc forgets any earlier note before it allocates, so a note never outlives
// its call, and the clear takes the note only for the very block it clears (a layer that carves
// blocks of its own out of a policy's block, as the buckets do, hands out addresses inside it,
// never the block's own), and only for blocks of kMinBytes or more.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace aixmalloc::fresh {

// Larger than any block that a layer above the policies hands out from a cache of its own (the
// thread cache: 4 KiB; the pool: 512 bytes; watson2: 16 KiB): clearing less pays on large blocks.
inline constexpr size_t kMinBytes = size_t{64} << 10;

struct Note {
  uintptr_t user = 0;  // the block's address as handed out; 0: no note
  uintptr_t lo = 0;    // [lo, hi): zeros that nothing has written
  uintptr_t hi = 0;
};
inline constinit thread_local Note t_note;

// calloc, before it allocates.
inline void forget() { t_note.user = 0; }

// The policy, as it hands out `user` (under its lock, in the calloc's thread).
inline void note(void* user, size_t size, uintptr_t lo, uintptr_t hi) {
  uintptr_t a = reinterpret_cast<uintptr_t>(user);
  if (size < kMinBytes || hi <= lo) return;
  t_note = Note{a, lo, hi};
}

// Zeroes [p, p + size), but for the part a note for p says is zero already. Takes the note.
inline void clear(void* p, size_t size) {
  Note n = t_note;
  t_note.user = 0;
  uintptr_t a = reinterpret_cast<uintptr_t>(p), e = a + size;
  if (n.user != a || size < kMinBytes) {
    memset(p, 0, size);
    return;
  }
  uintptr_t lo = n.lo > a ? n.lo : a, hi = n.hi < e ? n.hi : e;
  if (lo >= hi) {
    memset(p, 0, size);
    return;
  }
  memset(p, 0, lo - a);
  memset(reinterpret_cast<void*>(hi), 0, e - hi);
}

}  // namespace aixmalloc::fresh
