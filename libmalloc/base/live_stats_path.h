// The names of the live-statistics channel (aixmalloc(7), AIXMALLOC_STATS_SIGNAL): the advert by
// which a process says which signal asks it, the request's value, and the files it answers in.
// The runtime and the CLI build and read them here, so they cannot drift apart.
#pragma once

#include <cstddef>
#include <cstdint>

#include "libmalloc/base/format.h"

namespace aixmalloc {

// The advert: the name of an empty anonymous file (memfd) the process keeps open, close-on-exec,
// so /proc/PID/fd/N links to "/memfd:NAME (deleted)":
//   "aixmalloc-live sig=62 cookie=0x5f1c...8"   ask with signal 62, the value COOKIE | kind
//   "aixmalloc-live sig=0 taken=62"             the program took signal 62; no channel now
inline constexpr char kLiveAdvertPrefix[] = "aixmalloc-live ";
// What a request asks for: the low bits of its value (the cookie's are 0).
inline constexpr uint64_t kLiveKindMask = 3;
inline constexpr uint64_t kLiveStatistics = 1;
inline constexpr uint64_t kLiveLeaks = 2;
// The signals aixmalloc picks from when AIXMALLOC_STATS_SIGNAL is unset: SIGRTMAX-1 down to
// SIGRTMAX-8 (SIGRTMAX itself is valgrind's, and some programs take "the last one").
inline constexpr int kLiveFirstOffset = 1;
inline constexpr int kLiveCandidates = 8;

struct LiveAdvert {
  int signal = 0;       // 0: no channel now
  uint64_t cookie = 0;  // with a signal
  int taken = 0;        // without one: the signal the program took
};

// The advert's name into out (cleared). Returns out.c_str().
const char* live_advert_name(Text& out, const LiveAdvert& advert);
// Reads an advert from a name or from a /proc/PID/fd link ("/memfd:" NAME " (deleted)"); false
// when `text` is not one.
bool parse_live_advert(const char* text, size_t len, LiveAdvert* out);

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
