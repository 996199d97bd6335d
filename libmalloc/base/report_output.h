// Where every report goes (aixmalloc(7), REPORTS AND THEIR DESTINATIONS): the status report, the
// JSON documents, the bucket summary and the MALLOCDEBUG stream. A destination is stdout, stderr
// or a file; each is set up at start-up and looked up again whenever something is written.
//
//   stdout, stderr   a duplicate of descriptor 1 or 2 is kept (closed on exec, numbered high) with
//                    the device and inode it refers to; a report goes to the duplicate while it
//                    still refers to that file, so a program that closes its standard streams at
//                    exit (coreutils' close_stdout) still shows it, and a file the program opens
//                    later on the freed number never receives it.
//   PATH with %p     each process opens its own file, %p replaced by its process ID, when it
//                    first writes to it.
//   PATH             claimed at start-up with an exclusive flock(2): the process that holds the
//                    lock writes PATH; any other (a forked child, a program started while the
//                    holder runs) writes PATH.PID, so no report overwrites a running process's.
//
// Nothing here allocates or takes a lock: callable at exit, in a forked child and in a signal
// handler (the MALLOCDEBUG stream).
#pragma once

#include <cstddef>

#include "libmalloc/base/config.h"

namespace aixmalloc::report {

enum class Report : unsigned {
  kBucketStatistics,  // MALLOCOPTIONS=bucket_statistics
  kStats,             // AIXMALLOC_STATS
  kStatsJson,         // AIXMALLOC_STATS_JSON
  kLeaksJson,         // AIXMALLOC_LEAKS_JSON
  kDebugOutput,       // MALLOCDEBUG's stream (output:, stderr by default)
  kCount,
};

// At start-up, once per report the configuration asks for: keeps the standard stream it names, or
// opens its file. `what` names the setting in the line written when the file cannot be opened
// ("AIXMALLOC_STATS", "MALLOCDEBUG: output"); `mode` is the new file's, less the umask. A report
// whose destination is kNone goes to standard error (the MALLOCDEBUG stream's default).
void prepare(Report r, const Destination& d, const char* what, unsigned mode);

// The descriptor to write the report on now; -1 when it has none (a standard stream the program
// has closed and replaced, or one that was closed when it started). A forked child, or a process
// whose file descriptor the program closed, opens its own file first; a file that cannot be opened
// is named in one line with the reason, and the report goes to standard error.
int descriptor(Report r);

// Descriptor 1 or 2 as kept at start-up (the descriptor itself when it was not kept); -1 when the
// stream the process started with is gone. Every line of warn() goes through it.
int stream(int fd);
// Keeps standard error for the reports' lines and fallbacks (called for any report that is on).
void keep_stream(int fd);

// Writes `pattern` with %p replaced by `pid` into out (size n), NUL-terminated; false when it does
// not fit.
bool expand_path(const char* pattern, int pid, char* out, size_t n);
bool has_pid_marker(const char* pattern);

}  // namespace aixmalloc::report
