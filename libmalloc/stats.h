// Statistics (DESIGN.md invariant 8): counters live with each heap and are only read under its
// lock; a Snapshot copies every figure of the table (base/statistics.def) at once, and every
// renderer (AIX's status report, glibc's malloc_stats and malloc_info, mallinfo) works from the
// snapshot, never from live structures and never through malloc.
#pragma once

#include <cstddef>
#include <cstdint>

#include "libmalloc/base/config.h"
#include "libmalloc/base/format.h"
#include "libmalloc/base/statistics.h"

namespace aixmalloc {

// Kept by each heap, updated under its lock.
struct HeapCounters {
  uint64_t allocations = 0;  // since process start
  uint64_t frees = 0;
  uint64_t reallocs = 0;
  uint64_t failures = 0;  // requests the heap could not satisfy
};

// Every figure, and the configuration they were gathered under.
struct Snapshot : Statistics {
  const Config* config = nullptr;
};

// The dbx-style status report: AIX's lines in AIX's layout, then every other figure of the table.
// The heaps never used are named in one line instead of a section each (`aixmalloc stats` reads
// the line back as their rows, every figure 0).
void render_status(const Snapshot& s, Text& out, int fd);
inline constexpr const char kUnusedHeaps[] = "Heaps never used (every figure 0):";
// glibc's malloc_stats() layout.
void render_malloc_stats(const Snapshot& s, Text& out, int fd);
// glibc's malloc_info() XML, into a caller's buffer (the caller writes it to its FILE*).
void render_malloc_info(const Snapshot& s, Text& out);

}  // namespace aixmalloc
