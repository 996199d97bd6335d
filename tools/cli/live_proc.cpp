// Reading a process's /proc entries for the live requests (live_proc.h): its advert, dispositions,
// threads and environment. Everything here is read-only and tolerates a process that changes or
// ends while it is read.
#include "tools/cli/live_proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <iterator>
#include <vector>

#include "libmalloc/base/config.h"

namespace aixmalloc::cli {

namespace {

// The numeric names of a /proc directory (fd, task); false with errno set when it cannot be read.
bool numbers_in(const std::string& dir, std::vector<long>* out) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return false;
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    long n = strtol(e->d_name, &end, 10);
    if (end != e->d_name && *end == '\0') out->push_back(n);
  }
  closedir(d);
  return true;
}

// Each line of a /proc status file that starts with `key`, given the rest of the line.
void lines_with(const std::string& text, const char* key,
                const std::function<void(const char*)>& f) {
  size_t k = strlen(key);
  for (size_t i = 0; i < text.size();) {
    size_t end = text.find('\n', i);
    if (end == std::string::npos) end = text.size();
    if (text.compare(i, k, key) == 0) f(text.substr(i + k, end - i - k).c_str());
    i = end + 1;
  }
}

// The calls a handler installed with SA_RESTART does not interrupt (signal(7)). nanosleep, poll,
// select, epoll_wait, pause and the like return EINTR whatever the flags say.
bool restartable_call(long nr) {
  static const long kCalls[] = {SYS_read,     SYS_write,    SYS_readv,   SYS_writev, SYS_pread64,
                                SYS_pwrite64, SYS_wait4,    SYS_waitid,  SYS_futex,  SYS_accept,
                                SYS_accept4,  SYS_recvfrom, SYS_recvmsg, SYS_sendto, SYS_sendmsg,
                                SYS_openat,   SYS_flock,    SYS_fcntl};
  return std::find(std::begin(kCalls), std::end(kCalls), nr) != std::end(kCalls);
}

// Where a thread waits, as far as a request goes: /proc/PID/task/TID/syscall names its system
// call (the process's user may read it unless Yama restricts ptrace); wchan, the kernel function
// it sleeps in, otherwise.
bool waits_restartably(const std::string& task) {
  std::string text;
  if (slurp(task + "/syscall", &text, 4096) && !text.empty() && isdigit(text[0]))
    return restartable_call(strtol(text.c_str(), nullptr, 10));
  static const char* const kWaits[] = {"pipe_read",
                                       "pipe_write",
                                       "wait_for_partner",
                                       "do_wait",
                                       "futex_wait_queue",
                                       "futex_wait_queue_me",
                                       "futex_do_wait",
                                       "unix_stream_read_generic",
                                       "unix_stream_data_wait",
                                       "sk_wait_data",
                                       "inet_csk_accept",
                                       "wait_woken"};
  text.clear();
  if (!slurp(task + "/wchan", &text, 4096)) return false;
  text = text.substr(0, text.find('.'));  // "name.constprop.0"
  return std::find(std::begin(kWaits), std::end(kWaits), text) != std::end(kWaits);
}

}  // namespace

std::string proc_path(pid_t pid, const char* entry) {
  std::string p = "/proc/" + std::to_string(pid);
  return entry ? p + "/" + entry : p;
}

bool slurp(const std::string& path, std::string* out, size_t limit) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[65536];
  bool ok = true;
  while (out->size() <= limit) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = n == 0;
      break;
    }
    out->append(buf, static_cast<size_t>(n));
  }
  int err = errno;
  close(fd);
  errno = err;
  return ok;
}

std::string read_link(const std::string& fd_path) {
  char buf[512];
  ssize_t n = readlink(fd_path.c_str(), buf, sizeof(buf));
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

bool find_advert(pid_t pid, FoundAdvert* out) {
  std::vector<long> fds;
  const std::string dir = proc_path(pid, "fd");
  if (!numbers_in(dir, &fds)) return false;
  std::sort(fds.rbegin(), fds.rend());
  for (long fd : fds) {
    std::string path = dir + "/" + std::to_string(fd);
    std::string link = read_link(path);
    LiveAdvert a;
    if (link.empty() || !parse_live_advert(link.data(), link.size(), &a)) continue;
    *out = FoundAdvert{true, a, path, link};
    return true;
  }
  return true;
}

Dispositions dispositions_of(pid_t pid) {
  Dispositions d;
  std::string status;
  if (!slurp(proc_path(pid, "status"), &status, size_t{1} << 20)) return d;
  int found = 0;
  lines_with(status,
             "SigIgn:", [&](const char* v) { d.ignored = strtoull(v, nullptr, 16), ++found; });
  lines_with(status,
             "SigCgt:", [&](const char* v) { d.caught = strtoull(v, nullptr, 16), ++found; });
  d.known = found == 2;
  return d;
}

ThreadsFor threads_for(pid_t pid, int sig) {
  ThreadsFor t;
  std::vector<long> tids;
  if (!numbers_in(proc_path(pid, "task"), &tids)) return t;
  for (long tid : tids) {
    const std::string task = proc_path(pid, ("task/" + std::to_string(tid)).c_str());
    std::string status;
    if (!slurp(task + "/status", &status, size_t{1} << 20)) continue;  // ended since
    bool blocks = false, running = false;
    lines_with(status, "SigBlk:", [&](const char* v) {
      blocks = Dispositions::bit(strtoull(v, nullptr, 16), sig);
    });
    lines_with(status, "State:", [&](const char* v) { running = strchr(v, 'R') != nullptr; });
    ++t.total;
    t.blocking += blocks;
    if (blocks) continue;
    if (running && t.running == 0) t.running = static_cast<pid_t>(tid);
    if (!running && t.restartable == 0 && waits_restartably(task))
      t.restartable = static_cast<pid_t>(tid);
  }
  return t;
}

bool has_ended(pid_t pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::string stat;
  if (!slurp(proc_path(pid, "stat"), &stat, size_t{1} << 16))
    return errno == ENOENT || errno == ESRCH;
  size_t paren = stat.rfind(')');  // the command name may hold anything, ')' included
  return paren != std::string::npos && paren + 2 < stat.size() &&
         (stat[paren + 2] == 'Z' || stat[paren + 2] == 'X');
}

bool environment_signal(pid_t pid, bool* set, std::string* value) {
  std::string env;
  if (!slurp(proc_path(pid, "environ"), &env, size_t{64} << 20)) return false;
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
  const char* v = raw[Variable::kAixmallocStatsSignal];
  *set = v != nullptr;
  *value = v ? v : "";
  return true;
}

}  // namespace aixmalloc::cli
