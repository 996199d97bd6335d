// AIXMALLOC_STATS_SIGNAL (aixmalloc(7)): on that signal the process writes the JSON document of
// its statistics to a file that `aixmalloc stats --pid` reads, with async-signal-safe calls only,
// and never waits for a lock its own thread holds.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "libmalloc/assembly.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/format.h"
#include "libmalloc/base/lock.h"
#include "libmalloc/exit_reports.h"

namespace aixmalloc::rt {
namespace {

// A document is being written; requests received so far.
constinit std::atomic<bool> g_live_busy{false};
constinit std::atomic<uint64_t> g_live_requests{0};

// AIXMALLOC_STATS_SIGNAL (aixmalloc(7)): the document on request, for `aixmalloc stats --pid`.
// Written to a new file, then renamed into place, so a reader sees a whole document; only
// async-signal-safe calls (open, write, rename, close, getpid, gettid).
constinit char g_live_dir[16] = "/dev/shm";

void write_live_statistics() {
  TextBuf<96> path, tmp;
  uint64_t pid = static_cast<uint64_t>(getpid());
  path.str(g_live_dir).str("/aixmalloc-stats.").num(pid).str(".json").ch('\0');
  tmp.str(g_live_dir).str("/.aixmalloc-stats.").num(pid).ch('.')
      .num(static_cast<uint64_t>(syscall(SYS_gettid))).str(".tmp").ch('\0');
  unlink(tmp.data());  // a leftover of a thread that died while writing
  int fd = open(tmp.data(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return;
  TextBuf<4096> out;
  render_json_document(out, fd);
  close(fd);
  if (rename(tmp.data(), path.data()) != 0) unlink(tmp.data());
}

// Serves every request counted so far. One thread writes at a time; a request that arrives while
// it writes (even on its own thread, from a nested signal) makes it write once more afterwards, so
// every request is answered by a document written after it arrived.
void serve_live_statistics() {
  for (;;) {
    if (g_live_busy.exchange(true, std::memory_order_acquire)) return;  // the writer sees ours
    uint64_t seen = g_live_requests.load(std::memory_order_acquire);
    write_live_statistics();
    g_live_busy.store(false, std::memory_order_release);
    if (g_live_requests.load(std::memory_order_acquire) == seen) return;
  }
}

// Writes at once when this thread holds none of the allocator's locks; otherwise (the signal
// interrupted it inside the allocator) when the last lock is released (lock.h).
void on_stats_signal(int) {
  int saved = errno;
  g_live_requests.fetch_add(1, std::memory_order_acq_rel);
  if (t_locks_held == 0) {
    serve_live_statistics();
  } else {
    defer_until_unlocked();
  }
  errno = saved;
}


}  // namespace

void install_stats_signal() {
  struct stat st;
  if (stat("/dev/shm", &st) != 0 || !S_ISDIR(st.st_mode) || access("/dev/shm", W_OK | X_OK) != 0)
    memcpy(g_live_dir, "/tmp", 5);
  set_deferred_hook(serve_live_statistics);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stats_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (sigaction(g_config.stats_signal, &sa, nullptr) != 0) {
    static const char kNoHandler[] = "AIXMALLOC_STATS_SIGNAL: cannot install the handler; live statistics are off";
    warn(kNoHandler, sizeof(kNoHandler) - 1);
  }
}

void live_statistics_reset_in_child() { g_live_busy.store(false, std::memory_order_relaxed); }

}  // namespace aixmalloc::rt
