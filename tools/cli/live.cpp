// The asking side of the live statistics' channel (aixmalloc(7), AIXMALLOC_STATS_SIGNAL); the
// runtime answers (libmalloc/live_channel.cpp, live_stats.cpp).
//
//   /proc/N/fd ---------------------> the advert: "aixmalloc-live sig=S cookie=C" (or "sig=0
//                                     taken=S": the program took the signal; refuse)
//     none: /proc/N/maps, environ --> on aixmalloc? AIXMALLOC_STATS_SIGNAL (or --signal): S, no
//                                     cookie (the plain protocol of a named signal)
//   /proc/N/status -----------------> S caught, not ignored (else refuse: its default action
//                                     would end the process)
//   /proc/N/task/T/status ----------> some thread does not block S (else refuse: the program
//                                     takes S with sigwait or signalfd); one running, or
//                                     waiting in a call SA_RESTART restarts, is asked
//   the advert again; sigqueue(N or thread T, S, C | 1 statistics, 2 leaks), through a pidfd
//   poll every 10 ms until DIR/aixmalloc-stats.N.json (or -leaks) holds a new file
//   open O_NOFOLLOW, fstat: regular, N's user, one link; read, unlink
//
// The checks before the signal exist because a signal nobody catches ends the process and one the
// program takes would disturb it; those after it because /tmp is shared, so anyone may plant a
// file under the name.
#include "tools/cli/live.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <vector>

#include "libmalloc/base/live_stats_path.h"
#include "tools/cli/cli.h"
#include "tools/cli/live_proc.h"

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

// How the process is asked: which signal, with which value, to which thread.
struct Plan {
  int signal = 0;
  uint64_t cookie = 0;  // 0: the plain protocol of a named signal (value 0 or 1)
  FoundAdvert advert;
};

// The process's own AIXMALLOC_STATS_SIGNAL, when it has no advert: named, or why it cannot be.
int signal_from_environment(pid_t pid, const std::string& who, int* sig) {
  bool set = false;
  std::string value;
  if (!environment_signal(pid, &set, &value))
    return refuse(kExitUsage, "cannot read " + proc_path(pid, "environ") + ": " + strerror(errno) +
                                  " (name the signal with --signal SIG)");
  std::string why;
  *sig = set ? parse_stats_signal(value.c_str(), &why) : 0;
  if (*sig > 0) return kExitOk;
  if (*sig == kStatsSignalOff)
    return refuse(kExitUsage, who + " was started with AIXMALLOC_STATS_SIGNAL=" + value +
                                  ", so it has no statistics channel");
  return refuse(kExitUsage,
                who +
                    " runs on aixmalloc but shows no statistics channel (no aixmalloc-live "
                    "descriptor in " +
                    proc_path(pid, "fd") +
                    "): it is still starting, no signal aixmalloc picks from was free as it "
                    "started, its program closed that descriptor, or it runs set-user-ID; "
                    "AIXMALLOC_STATS_SIGNAL=USR2 in its environment names a signal that needs "
                    "none");
}

// "its own handler", "SIG_IGN" or "SIG_DFL": what the program set on `sig`, as /proc shows it.
std::string action_of(const Dispositions& d, int sig) {
  return d.ignores(sig) ? "SIG_IGN" : d.catches(sig) ? "its own handler" : "SIG_DFL";
}

// The program took the channel's signal and no other was free (or the variable named it).
int refuse_taken(pid_t pid, const std::string& who, int taken, const Dispositions& d) {
  bool set = false;
  std::string value, why;
  bool named = environment_signal(pid, &set, &value) && set &&
               parse_stats_signal(value.c_str(), &why) == taken;
  const std::string name = signal_name(taken);
  return refuse(kExitFailed,
                who + " has no statistics channel now: its program set " + name + " to " +
                    action_of(d, taken) + ", the signal " +
                    (named ? "its AIXMALLOC_STATS_SIGNAL names"
                           : "aixmalloc had picked, and no other of " +
                                 signal_name(SIGRTMAX - kLiveFirstOffset) + " to " +
                                 signal_name(SIGRTMAX - kLiveFirstOffset - kLiveCandidates + 1) +
                                 " was free") +
                    "; not sent");
}

// Everything that must hold before the signal is sent; kExitOk with *plan filled.
int plan_request(const LiveRequest& request, const std::string& who, Plan* plan) {
  const pid_t pid = request.pid;
  FoundAdvert& advert = plan->advert;
  if (!find_advert(pid, &advert) && errno == EACCES)
    return refuse(kExitUsage, "not permitted to read " + proc_path(pid, "fd") + ": run aixmalloc " +
                                  g_command + " as the process's user or as root");
  const Dispositions d = dispositions_of(pid);
  int sig = request.signal;
  if (advert.found && sig == 0 && advert.advert.signal == 0)
    return refuse_taken(pid, who, advert.advert.taken, d);
  if (advert.found && advert.advert.signal != 0 && (sig == 0 || sig == advert.advert.signal)) {
    sig = advert.advert.signal;
    plan->cookie = advert.advert.cookie;
  }
  std::string maps;
  // A program linked with libaixmalloc.a maps no library of that name: its advert, or aixmalloc's
  // handler for a signal named by hand, is then the only sign of it.
  bool mapped = !slurp(proc_path(pid, "maps"), &maps, size_t{256} << 20) ||
                maps.find("libaixmalloc") != std::string::npos;
  if (!advert.found && !mapped && (sig == 0 || !d.catches(sig)))
    return refuse(kExitUsage, who + " does not run on aixmalloc (no libaixmalloc in " +
                                  proc_path(pid, "maps") +
                                  "): start it with LD_PRELOAD=libaixmalloc.so, or with 'aixmalloc "
                                  "run -- CMD'");
  if (sig == 0) {
    if (int status = signal_from_environment(pid, who, &sig); status != kExitOk) return status;
  }
  const std::string name = signal_name(sig);
  if (d.ignores(sig))
    return refuse(kExitFailed, who + " ignores " + name +
                                   " (SIG_IGN), so it cannot answer: the program, or what started "
                                   "it, set that; not sent");
  if (d.known && !d.catches(sig))
    return refuse(kExitFailed, who + " does not catch " + name +
                                   ", which would end it; not sent (aixmalloc installs its handler "
                                   "as it starts: the process is still starting, or the program "
                                   "reset the signal)");
  ThreadsFor threads = threads_for(pid, sig);
  if (threads.total > 0 && threads.blocking == threads.total)
    return refuse(kExitFailed,
                  "every thread of " + who + " blocks " + name +
                      " (its program takes that signal with sigwait or signalfd, or holds it), so "
                      "it cannot answer; not sent");
  plan->signal = sig;
  return kExitOk;
}

long pidfd_open(pid_t pid) {
  return syscall(SYS_pidfd_open, pid, 0);
}

// sigqueue() of the value to thread `tid`, one the request does not cut short, or else to the
// process (through its pidfd when there is one: no other process that took its ID since gets it).
// false with errno set.
bool send_request(pid_t pid, int pidfd, pid_t tid, int sig, uint64_t value) {
  siginfo_t info;
  memset(&info, 0, sizeof info);
  info.si_signo = sig;
  info.si_code = SI_QUEUE;
  info.si_pid = getpid();
  info.si_uid = getuid();
  info.si_value.sival_ptr = reinterpret_cast<void*>(static_cast<uintptr_t>(value));
  if (pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, 0, nullptr, 0) != 0) return false;
  if (tid != 0) return syscall(SYS_rt_tgsigqueueinfo, pid, tid, sig, &info) == 0;
  if (pidfd >= 0) return syscall(SYS_pidfd_send_signal, pidfd, sig, &info, 0) == 0;
  return syscall(SYS_rt_sigqueueinfo, pid, sig, &info) == 0;
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
    if (request->signal <= 0)
      return usage_error(command, "--signal: '" + signal_text +
                                      "' is not USR1, USR2, RTMIN+n or RTMAX-n (n 0-" +
                                      std::to_string(SIGRTMAX - SIGRTMIN) + ")");
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
  // Opened before anything is read: what is read is then known to be this process's.
  const int pidfd = static_cast<int>(pidfd_open(pid));
  struct Closer {
    int fd;
    ~Closer() {
      if (fd >= 0) close(fd);
    }
  } closer{pidfd};
  Plan plan;
  // The advert is read again just before the signal: when the program changed it meanwhile (it
  // took the signal), the checks start over.
  for (int attempt = 0;; ++attempt) {
    plan = Plan{};
    if (int status = plan_request(request, who, &plan); status != kExitOk) return status;
    if (plan.cookie == 0 || read_link(plan.advert.fd_path) == plan.advert.link) break;
    if (attempt == 3) return refuse(kExitFailed, who + " keeps changing its statistics channel");
  }
  const int sig = plan.signal;
  const std::string name = signal_name(sig);

  std::vector<std::string> paths;
  std::vector<FileState> before;
  for (const char* dir : kLiveStatsDirectories) {  // where the runtime may write its answer
    TextBuf<256> path;
    paths.push_back(
        live_report_path(path, dir, leaks ? "leaks" : "stats", static_cast<uint64_t>(pid)));
    before.push_back(state_of(paths.back()));
  }
  timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  // With the advert's cookie, the low bits say what is asked; without, the value 1 asks for the
  // leak report and 0 for the statistics, as AIXMALLOC_STATS_SIGNAL always took them.
  uint64_t value = plan.cookie ? plan.cookie | (leaks ? kLiveLeaks : kLiveStatistics) : leaks;
  const ThreadsFor threads = threads_for(pid, sig);
  const pid_t target = threads.running ? threads.running : threads.restartable;
  if (!send_request(pid, pidfd, target, sig, value))
    return refuse(kExitUsage, errno == EPERM
                                  ? "not permitted to send " + name + " to " + who +
                                        ": run aixmalloc " + g_command + " as its user or as root"
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
                                     " s: its program replaced aixmalloc's handler without "
                                     "sigaction() (with the system call itself), or blocked the "
                                     "signal in the thread it reached, or is not preloaded with "
                                     "libaixmalloc.so");
    }
    timespec pause = {0, kPollNanoseconds};
    nanosleep(&pause, nullptr);
  }
}

}  // namespace aixmalloc::cli
