// AIXMALLOC_STATS_SIGNAL (aixmalloc(7)): on that signal the process writes the JSON document of
// its statistics to a file that `aixmalloc stats --pid` reads, with async-signal-safe calls only,
// and never waits for a lock its own thread holds.
#include <errno.h>

#include <atomic>

#include "libmalloc/assembly.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/format.h"
#include "libmalloc/base/live_stats_path.h"
#include "libmalloc/base/lock.h"
#include "libmalloc/base/os.h"
#include "libmalloc/exit_reports.h"

namespace aixmalloc::rt {
namespace {

// A document is being written; requests received so far.
constinit std::atomic<bool> g_live_busy{false};
constinit std::atomic<uint64_t> g_live_requests{0};

// AIXMALLOC_STATS_SIGNAL (aixmalloc(7)): the document on request, for `aixmalloc stats --pid`.
// Written to a new file, then renamed into place, so a reader sees a whole document; only
// async-signal-safe calls (open, write, rename, close, getpid, gettid).
constinit const char* g_live_dir = kLiveStatsDirectories[0];

void write_live_statistics() {
  TextBuf<96> path, tmp;
  uint64_t pid = static_cast<uint64_t>(os::process_id());
  live_stats_path(path, g_live_dir, pid);
  live_stats_temporary_path(tmp, g_live_dir, pid, static_cast<uint64_t>(os::thread_id()));
  os::remove_file(tmp.c_str());  // a leftover of a thread that died while writing
  int fd = os::open_for_writing(tmp.c_str(), /*exclusive=*/true, 0600);
  if (fd < 0) return;
  TextBuf<4096> out;
  render_json_document(out, fd);
  os::close_file(fd);
  if (!os::rename_file(tmp.c_str(), path.c_str())) os::remove_file(tmp.c_str());
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
  for (const char* dir : kLiveStatsDirectories) {
    g_live_dir = dir;  // the last one when none is writable now: it may be by the time of a signal
    if (os::is_writable_directory(dir)) break;
  }
  set_deferred_hook(serve_live_statistics);
  if (!os::catch_signal(g_config.stats_signal, on_stats_signal)) {
    static const char kNoHandler[] = "AIXMALLOC_STATS_SIGNAL: cannot install the handler; live statistics are off";
    warn(kNoHandler, sizeof(kNoHandler) - 1);
  }
}

void live_statistics_reset_in_child() { g_live_busy.store(false, std::memory_order_relaxed); }

}  // namespace aixmalloc::rt
