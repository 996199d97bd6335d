// Every fatal misuse the allocator detects ends here: one fixed, greppable line on stderr that names
// the call and the address, then abort(), as glibc does. Death tests pin each message.
//
//   aixmalloc: free(): invalid pointer 0x...: not owned by this allocator
//   aixmalloc: free(): double free of 0x...
//   aixmalloc: realloc(): invalid pointer 0x...: not the start of an allocated block
//   aixmalloc: heap corruption detected in the Yorktown heap: a block overlaps a free block at 0x...
//   aixmalloc: the allocator was entered again by a thread already inside it (a signal handler ...
#pragma once

#include <cstddef>

namespace aixmalloc {

enum class Misuse {
  kNotOwned,    // the address lies in no range we reserved
  kDoubleFree,  // the block is ours and already free
  kNotABlock,   // inside our ranges, but not the start of a block we handed out
};

[[noreturn]] void report_misuse(const char* call, const void* p, Misuse what);
// The allocator found its own structures broken while it worked (a block's size word overwritten by
// an overflow or a write after free): it stops rather than hand out or merge memory on the word of a
// damaged heap, which would turn the program's bug into silent corruption or an exploitable write.
// `where` names the structure, `what` the broken invariant, `p` the block.
[[noreturn]] void report_corruption(const char* where, const char* what, const void* p);

// A thread took one of the allocator's locks while it already held it: the allocator was entered
// again from inside itself, by a signal handler that allocates or frees (malloc is not
// async-signal-safe). Detected while the process has one thread (libmalloc/base/lock.h).
[[noreturn, gnu::cold]] void report_lock_reentry(const void* lock);

// One diagnostic line on stderr, prefixed "aixmalloc: " and ended with a newline.
void warn(const char* line, size_t len);

}  // namespace aixmalloc
