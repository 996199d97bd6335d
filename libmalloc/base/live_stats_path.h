// The names of the live-statistics channel (AIXMALLOC_STATS_SIGNAL, aixmalloc(7)): where a process
// writes the JSON document of its statistics when it gets the signal, and where `aixmalloc stats
// --pid` looks for it. The runtime and the CLI build the names here, so they cannot drift apart.
#pragma once

#include <cstdint>

#include "libmalloc/base/format.h"

namespace aixmalloc {

// The directories the document may be written to, in the runtime's order of preference: the first
// that is a writable directory (/dev/shm is memory; /tmp where it is missing).
inline constexpr const char* kLiveStatsDirectories[] = {"/dev/shm", "/tmp"};

// DIR/aixmalloc-KIND.PID.json: the finished document of process `pid`, KIND "stats" (the
// statistics) or "leaks" (the Malloc Log's live allocations). Returns out.c_str().
const char* live_report_path(Text& out, const char* dir, const char* kind, uint64_t pid);
// DIR/.aixmalloc-KIND.PID.TID.tmp: where thread `tid` writes it before renaming it into place.
const char* live_report_temporary_path(Text& out, const char* dir, const char* kind, uint64_t pid, uint64_t tid);
// DIR/aixmalloc-stats.PID.json: the finished document of process `pid`. Returns out.c_str().
const char* live_stats_path(Text& out, const char* dir, uint64_t pid);
// DIR/.aixmalloc-stats.PID.TID.tmp: where thread `tid` writes the document before renaming it to
// live_stats_path(), so a reader never sees half a document. Returns out.c_str().
const char* live_stats_temporary_path(Text& out, const char* dir, uint64_t pid, uint64_t tid);

}  // namespace aixmalloc
