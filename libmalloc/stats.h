// Statistics (DESIGN.md invariant 8): counters live with each heap and are only read under its
// lock; a Snapshot copies them all at once, and every renderer (AIX's status report, glibc's
// malloc_stats and malloc_info, mallinfo) works from the snapshot, never from live structures and
// never through malloc.
#pragma once

#include <cstddef>
#include <cstdint>

#include "libmalloc/base/format.h"
#include "libmalloc/base/platform.h"
#include "libmalloc/config.h"

namespace aixmalloc {

// Kept by each heap, updated under its lock.
struct HeapCounters {
  uint64_t allocations = 0;  // since process start
  uint64_t frees = 0;
  uint64_t reallocs = 0;
  uint64_t failures = 0;  // requests the heap could not satisfy
};

struct HeapSnapshot {
  unsigned index;
  HeapCounters counters;
  uint64_t acquired;      // bytes committed for the heap ("from sbrk()")
  uint64_t free_bytes;    // bytes in the free structure
  uint64_t free_blocks;
  uint64_t largest_free;
  unsigned grow_calls;
  bool locked;
};

struct Snapshot {
  static constexpr unsigned kMaxHeaps = aixmalloc::kMaxHeaps;
  const Config* config;
  unsigned heaps;
  HeapSnapshot heap[kMaxHeaps];
  uint64_t large_blocks, large_bytes, large_max_blocks, large_max_bytes, large_allocations;
  uint64_t large_cached_bytes = 0, large_cache_hits = 0;  // freed large ranges kept for reuse
  uint64_t bootstrap_bytes;
  uint64_t pool_bytes = 0, pool_in_use = 0;  // MALLOCOPTIONS=pool: block pages, blocks handed out
  uint64_t cached_bytes = 0;                 // blocks parked in thread caches (free to the program)

  // Every byte obtained from the system for blocks: heaps, the pool's pages, large blocks.
  uint64_t acquired() const;
  // Free as far as the program is concerned: heaps' free structures, thread caches, free pool space.
  uint64_t free_bytes() const;
  uint64_t in_use() const { return acquired() - free_bytes(); }  // AIX: held by the user
};

// The status report in the layout of the AIX dbx `malloc` subcommand's output.
void render_status(const Snapshot& s, Text& out, int fd);
// glibc's malloc_stats() layout.
void render_malloc_stats(const Snapshot& s, Text& out, int fd);
// glibc's malloc_info() XML, into a caller's buffer (the caller writes it to its FILE*).
void render_malloc_info(const Snapshot& s, Text& out);

}  // namespace aixmalloc
