// What `aixmalloc stats --pid` and `leaks --pid` read about a process in /proc before they ask it
// (live.cpp): its advert of the live channel, its signal dispositions and masks, its threads, its
// environment. Reading only; nothing here signals the process.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "libmalloc/base/live_stats_path.h"

namespace aixmalloc::cli {

std::string proc_path(pid_t pid, const char* entry);  // /proc/PID or /proc/PID/ENTRY

// A /proc file (their size reads as 0) or any other, to its end, at most `limit` bytes plus one.
// false with errno set.
bool slurp(const std::string& path, std::string* out, size_t limit);

// The advert among the process's open descriptors: the runtime keeps it near the top, so they are
// read from the highest down.
struct FoundAdvert {
  bool found = false;
  LiveAdvert advert;
  std::string fd_path;  // /proc/PID/fd/N
  std::string link;     // what it linked to: read again just before the signal is sent
};
// false with errno set when /proc/PID/fd cannot be listed; true otherwise, found or not.
bool find_advert(pid_t pid, FoundAdvert* out);
// The link of `fd_path` now, "" when it cannot be read.
std::string read_link(const std::string& fd_path);

// The signals the process ignores and catches (/proc/PID/status, one bit per signal).
struct Dispositions {
  bool known = false;
  uint64_t ignored = 0, caught = 0;
  bool ignores(int sig) const { return known && bit(ignored, sig); }
  bool catches(int sig) const { return known && bit(caught, sig); }
  static bool bit(uint64_t mask, int sig) {
    return sig >= 1 && sig <= 64 && (mask >> (sig - 1)) & 1;
  }
};
Dispositions dispositions_of(pid_t pid);

// Its threads, as far as `sig` goes (/proc/PID/task/*): how many, how many block it, and among
// those that do not, one that is running now and one waiting in a system call that SA_RESTART
// restarts (read, write, wait4, futex, accept...: the request does not cut it short); 0 for none.
struct ThreadsFor {
  int total = 0, blocking = 0;
  pid_t running = 0, restartable = 0;
};
ThreadsFor threads_for(pid_t pid, int sig);

// Gone, or a zombie: it will never answer.
bool has_ended(pid_t pid);

// The raw value of AIXMALLOC_STATS_SIGNAL in its start-up environment (/proc/PID/environ): false
// with errno set when that cannot be read; *set false when the variable is not there.
bool environment_signal(pid_t pid, bool* set, std::string* value);

}  // namespace aixmalloc::cli
