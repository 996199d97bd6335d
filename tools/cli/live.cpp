// The asking side of the AIXMALLOC_STATS_SIGNAL channel (aixmalloc(7)); the runtime answers.
//
//   /proc/N/environ --parse_config--> the signal (or --signal)
//   /proc/N/maps, /proc/N/status ---> on aixmalloc? the signal caught? (else refuse: its default
//                                     action would end the process)
//   lstat /dev/shm/aixmalloc-stats.N.json and /tmp/... ; kill(N, signal)
//     (the leak report: aixmalloc-leaks.N.json; sigqueue(N, signal, 1))
//   poll every 10 ms until a name holds a new file  <-- the runtime writes a temporary file and
//   open O_NOFOLLOW, fstat: regular, N's user, one link   renames it there (a new inode each time)
//   read, unlink
//
// The checks before the signal exist because a signal nobody catches ends the process; those after
// it because /tmp is shared, so anyone may plant a file under the name.
#include "tools/cli/live.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vector>

#include "libmalloc/base/live_stats_path.h"
#include "tools/cli/cli.h"

namespace aixmalloc::cli {

namespace {

constexpr long kPollNanoseconds = 10 * 1000 * 1000;
// Far above any real document (a few KiB per heap); a larger file is not the runtime's.
constexpr size_t kMaxDocument = size_t{64} << 20;

const char* g_command = "stats";  // the subcommand that asks, for the messages

int refuse(int status, const std::string& line) {
  fprintf(stderr, "aixmalloc %s: %s\n", g_command, line.c_str());
  return status;
}

// DIR/aixmalloc-leaks.PID.json: where the runtime renames its leak report (aixmalloc(7)); the
// statistics' name with "leaks" for "stats".
std::string leaks_path(const char* dir, pid_t pid) {
  return std::string(dir) + "/aixmalloc-leaks." + std::to_string(pid) + ".json";
}

std::string proc_path(pid_t pid, const char* entry) {
  std::string p = "/proc/" + std::to_string(pid);
  return entry ? p + "/" + entry : p;
}

// Reads to end of file, at most `limit` bytes plus one (so a caller can tell it was larger).
bool read_fd(int fd, std::string* out, size_t limit) {
  char buf[65536];
  while (out->size() <= limit) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out->append(buf, static_cast<size_t>(n));
  }
  return true;
}

// A /proc file reports size 0, so it is read to its end. false with errno set.
bool slurp(const std::string& path, std::string* out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = read_fd(fd, out, kMaxDocument);
  int err = errno;
  close(fd);
  errno = err;
  return ok;
}

// The process's AIXMALLOC_STATS_SIGNAL, as its start-up environment holds it, through the parser.
int signal_from_environment(pid_t pid, int* sig) {
  const std::string path = proc_path(pid, "environ"), who = "process " + std::to_string(pid);
  std::string env;
  if (!slurp(path, &env))
    return refuse(kExitUsage, "cannot read " + path + ": " + strerror(errno) +
                                  " (name the signal with --signal SIG)");
  env.push_back('\0');
  std::vector<char*> entries;
  for (size_t i = 0; i < env.size();) {
    size_t end = env.find('\0', i);
    if (end > i) entries.push_back(&env[i]);
    i = end + 1;
  }
  entries.push_back(nullptr);
  RawVariables raw;
  read_variables(entries.data(), &raw);
  std::string why;
  const char* value = raw[Variable::kAixmallocStatsSignal];
  *sig = value ? parse_stats_signal(value, &why) : 0;
  if (*sig != 0) return kExitOk;
  if (!why.empty()) return refuse(kExitUsage, who + " has no statistics channel: " + why);
  return refuse(kExitUsage, who +
                                " was not started with AIXMALLOC_STATS_SIGNAL, so it has no "
                                "statistics channel: start it with AIXMALLOC_STATS_SIGNAL=USR2 in "
                                "its environment, or with 'aixmalloc run --stats-signal USR2 -- "
                                "CMD'");
}

// The signals the process ignores and catches (/proc/N/status, one bit per signal).
struct Dispositions {
  bool known = false;
  uint64_t ignored = 0, caught = 0;
  bool ignores(int sig) const { return known && bit(ignored, sig); }
  bool catches(int sig) const { return known && bit(caught, sig); }
  static bool bit(uint64_t mask, int sig) {
    return sig >= 1 && sig <= 64 && (mask >> (sig - 1)) & 1;
  }
};

Dispositions dispositions_of(pid_t pid) {
  Dispositions d;
  std::string status;
  if (!slurp(proc_path(pid, "status"), &status)) return d;
  int found = 0;
  for (size_t i = 0; i < status.size();) {
    size_t end = status.find('\n', i);
    if (end == std::string::npos) end = status.size();
    std::string line = status.substr(i, end - i);
    if (line.rfind("SigIgn:", 0) == 0) {
      d.ignored = strtoull(line.c_str() + 7, nullptr, 16);
      ++found;
    } else if (line.rfind("SigCgt:", 0) == 0) {
      d.caught = strtoull(line.c_str() + 7, nullptr, 16);
      ++found;
    }
    i = end + 1;
  }
  d.known = found == 2;
  return d;
}

// Gone, or a zombie: it will never answer.
bool has_ended(pid_t pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::string stat;
  if (!slurp(proc_path(pid, "stat"), &stat)) return errno == ENOENT || errno == ESRCH;
  size_t paren = stat.rfind(')');  // the command name may hold anything, ')' included
  return paren != std::string::npos && paren + 2 < stat.size() &&
         (stat[paren + 2] == 'Z' || stat[paren + 2] == 'X');
}

// What a name held before the signal. An inode number may be reused once its file is gone; the
// modification time tells the two files apart then.
struct FileState {
  bool present = false;
  dev_t dev = 0;
  ino_t ino = 0;
  timespec mtime = {};
};

FileState state_of(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return {};
  return {true, st.st_dev, st.st_ino, st.st_mtim};
}

bool is_new(const FileState& before, const FileState& now) {
  return now.present &&
         (!before.present || now.dev != before.dev || now.ino != before.ino ||
          now.mtime.tv_sec != before.mtime.tv_sec || now.mtime.tv_nsec != before.mtime.tv_nsec);
}

double seconds_since(const timespec& start) {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<double>(now.tv_sec - start.tv_sec) +
         static_cast<double>(now.tv_nsec - start.tv_nsec) / 1e9;
}

enum class Outcome { kRead, kGone, kRefused };

// Reads the answer only if it is what the runtime writes: a regular file with one name, owned by
// the process's user, not reached through a symbolic link. Then removes it.
Outcome read_answer(const std::string& path, uid_t owner, std::string* out, int* status) {
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Outcome::kGone;  // another reader took it first
    *status = refuse(
        kExitFailed,
        path + (errno == ELOOP ? " is a symbolic link" : std::string(": ") + strerror(errno)) +
            "; not read");
    return Outcome::kRefused;
  }
  struct stat st;
  std::string why;
  if (fstat(fd, &st) != 0)
    why = std::string(": ") + strerror(errno);
  else if (!S_ISREG(st.st_mode))
    why = " is not a regular file";
  else if (st.st_uid != owner)
    why = " belongs to uid " + std::to_string(st.st_uid) + ", not to the process's user (uid " +
          std::to_string(owner) + ")";
  else if (st.st_nlink != 1)
    why = " has " + std::to_string(st.st_nlink) + " names";
  else if (!read_fd(fd, out, kMaxDocument))
    why = std::string(": ") + strerror(errno);
  else if (out->size() > kMaxDocument)
    why = " is larger than " + human_bytes(kMaxDocument);
  close(fd);
  if (!why.empty()) {
    *status = refuse(kExitFailed, path + why + "; not read");
    return Outcome::kRefused;
  }
  // The CLI asked for this answer, so it cleans up; unless the name holds a newer one already.
  struct stat now;
  if (lstat(path.c_str(), &now) == 0 && now.st_dev == st.st_dev && now.st_ino == st.st_ino)
    unlink(path.c_str());
  return Outcome::kRead;
}

}  // namespace

int parse_stats_signal(const char* value, std::string* why) {
  RawVariables raw;
  raw[Variable::kAixmallocStatsSignal] = value;
  Config cfg;
  parse_config(raw, ParseContext{}, &cfg);
  if (cfg.stats_signal == 0 && cfg.diagnostics.count > 0) *why = cfg.diagnostics.lines[0];
  return cfg.stats_signal;
}

int live_request_flags(const char* command, const std::string& pid_text,
                       const std::string& signal_text, const std::string& timeout_text,
                       LiveRequest* request) {
  if (pid_text.empty() || pid_text.size() > 9 ||
      pid_text.find_first_not_of("0123456789") != std::string::npos ||
      strtol(pid_text.c_str(), nullptr, 10) <= 0)
    return usage_error(command,
                       "--pid needs a process ID (a positive number), not '" + pid_text + "'");
  request->pid = static_cast<pid_t>(strtol(pid_text.c_str(), nullptr, 10));
  if (!signal_text.empty()) {
    std::string why;
    request->signal = parse_stats_signal(signal_text.c_str(), &why);
    if (request->signal == 0)
      return usage_error(command, "--signal: " + (why.empty() ? "no signal given" : why));
  }
  if (!timeout_text.empty()) {
    char* end = nullptr;
    request->timeout = strtod(timeout_text.c_str(), &end);
    if (*end != '\0' || !(request->timeout > 0 && request->timeout <= 86400))
      return usage_error(command, "--timeout needs seconds, more than 0 and at most 86400, not '" +
                                      timeout_text + "'");
  }
  return kExitOk;
}

int ask_process(const LiveRequest& request, LiveAnswer* answer) {
  const pid_t pid = request.pid;
  const bool leaks = request.document == LiveDocument::kLeaks;
  g_command = leaks ? "leaks" : "stats";
  const std::string who = "process " + std::to_string(pid);
  struct stat proc;
  if (stat(proc_path(pid, nullptr).c_str(), &proc) != 0)
    return refuse(kExitUsage, errno == ENOENT ? "there is no " + who
                                              : "cannot see " + who + ": " + strerror(errno));
  int sig = request.signal;
  if (sig == 0) {
    if (int status = signal_from_environment(pid, &sig); status != kExitOk) return status;
  }
  const std::string name = signal_name(sig);

  std::string maps;
  bool maps_read = slurp(proc_path(pid, "maps"), &maps);
  Dispositions d = dispositions_of(pid);
  // A program linked with libaixmalloc.a maps no library of that name: aixmalloc's handler for
  // the signal is then the only sign of it, so a caught signal lets the request through.
  if (maps_read && maps.find("libaixmalloc") == std::string::npos && !d.catches(sig))
    return refuse(kExitUsage, who + " does not run on aixmalloc (no libaixmalloc in " +
                                  proc_path(pid, "maps") +
                                  "): start it with LD_PRELOAD=libaixmalloc.so, or with 'aixmalloc "
                                  "run --stats-signal " +
                                  name.substr(3) + " -- CMD'");
  if (d.ignores(sig))
    return refuse(kExitFailed, who + " ignores " + name +
                                   " (SIG_IGN), so it cannot answer: the program, or what started "
                                   "it, set that; not sent");
  if (d.known && !d.catches(sig))
    return refuse(kExitFailed, who + " does not catch " + name +
                                   ", which would end it; not sent (aixmalloc installs its handler "
                                   "as it starts: the process is still starting, or the program "
                                   "reset the signal)");

  std::vector<std::string> paths;
  std::vector<FileState> before;
  for (const char* dir : kLiveStatsDirectories) {  // where the runtime may write its answer
    TextBuf<256> path;
    paths.push_back(leaks ? leaks_path(dir, pid)
                          : std::string(live_stats_path(path, dir, static_cast<uint64_t>(pid))));
    before.push_back(state_of(paths.back()));
  }
  timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  // The statistics keep the plain signal (kill), as before the leak report existed.
  union sigval value = {};
  value.sival_int = leaks ? 1 : 0;
  if ((leaks ? sigqueue(pid, sig, value) : kill(pid, sig)) != 0)
    return refuse(kExitUsage, errno == EPERM ? "not permitted to send " + name + " to " + who +
                                                   ": run aixmalloc " + g_command +
                                                   " as its user or as root"
                                             : who + " ended");
  for (;;) {
    for (size_t i = 0; i < paths.size(); ++i) {
      FileState now = state_of(paths[i]);
      if (!is_new(before[i], now)) continue;
      int status = kExitOk;
      switch (read_answer(paths[i], proc.st_uid, &answer->document, &status)) {
        case Outcome::kRead:
          answer->path = paths[i];
          answer->signal = sig;
          return kExitOk;
        case Outcome::kRefused:
          return status;
        case Outcome::kGone:
          before[i] = now;
          break;
      }
    }
    if (has_ended(pid)) return refuse(kExitFailed, who + " ended before it answered " + name);
    if (seconds_since(start) >= request.timeout) {
      char seconds[32];
      snprintf(seconds, sizeof(seconds), "%g", request.timeout);
      return refuse(kExitFailed, who + " did not answer " + name + " within " + seconds +
                                     " s: it blocks that signal, or installed its own handler "
                                     "for it (which replaces aixmalloc's), or is not preloaded "
                                     "with libaixmalloc.so");
    }
    timespec pause = {0, kPollNanoseconds};
    nanosleep(&pause, nullptr);
  }
}

}  // namespace aixmalloc::cli
