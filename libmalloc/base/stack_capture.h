// The call stack of a malloc-family call, for the Malloc Log: return addresses, innermost first,
// taken without allocating, without any lock (of the loader, of libc or of the allocator) and
// correct in code built without frame pointers. Knows no layer.
//
//   capture()  the program's frame, as the entry point's thunk noted it (caller.h): frames[0];
//              then --CFI rule--> caller --CFI rule--> ... `depth` - 1 more frames above it.
//              Without a noted frame: up from capture() itself to the noted return address first.
//
// Each step applies the frame's CFA rule (.eh_frame: where the caller's stack pointer, return
// address and frame pointer are), looked up by return address in a process-wide cache. A miss
// finds the rule itself: _dl_find_object() (lock-free, no allocation) gives the module's
// .eh_frame_hdr, a binary search its FDE, and the FDE's call-frame program is run up to the
// address (stack_capture.cpp). Memory is read only between the current stack pointer and the top
// of this thread's stack, so a wrong rule can end a stack early but never fault.
#pragma once

#include <cstddef>
#include <cstdint>

namespace aixmalloc::stack {

inline constexpr unsigned kMaxDepth = 64;

// Set while this thread captures (or records) a stack: an allocation made meanwhile by something
// the capture calls (pthread_getattr_np, once per thread) is served without being logged, so the
// log never recurses.
extern __thread bool t_busy;

struct Result {
  unsigned frames = 0;     // filled in out[0, frames)
  bool truncated = false;  // ended below `depth` for a reason other than the outermost frame
  // When the whole stack came from (or went into) this thread's memo of walks: a word the caller
  // may keep with it (0 until it does), e.g. a hash of the frames; it stays with these frames
  // until the memo forgets them. nullptr otherwise.
  uint64_t* kept = nullptr;
};

// Fills out[0] with `first` (the return address of the malloc-family call, the program's call
// site) and out[1, depth) with the return addresses of its callers. `cfa` and `rbp`: the
// program's stack pointer after the call returns and its rbp, as the entry point noted them
// (libmalloc/base/caller.h): the walk starts there, at the program's frame; cfa 0 (unknown), or
// a cfa whose return address is not `first`, walks up from capture() through the allocator's
// frames until it meets `first`. `first` 0: from the caller of capture() itself. Never
// allocates; may call pthread_getattr_np once per thread (t_busy set).
Result capture(uintptr_t first, uintptr_t cfa, uintptr_t rbp, uintptr_t* out, unsigned depth);

// A module is unloaded (dlclose has returned): no rule read so far is used again, since another
// module may be mapped where it was. Lock-free; safe while other threads capture.
void forget_rules();

// Counters of the rule cache, for the statistics.
struct Counters {
  uint64_t misses = 0;        // rules found the slow way (.eh_frame)
  uint64_t cached_rules = 0;  // return addresses in the cache
  uint64_t walked = 0;        // captures without a noted frame: walked up through the allocator
  uint64_t forgotten = 0;     // forget_rules() calls
};
void counters(Counters* out);

}  // namespace aixmalloc::stack
