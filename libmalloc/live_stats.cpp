// AIXMALLOC_STATS_SIGNAL (aixmalloc(7)): on that signal the process writes the JSON document of
// its statistics to a file that `aixmalloc stats --pid` reads, or, sent with sigqueue() and the
// value 1, the leak document that `aixmalloc leaks --pid` reads; with async-signal-safe calls
// only, and never waiting for a lock its own thread holds.
#include <errno.h>

#include <atomic>

#include "libmalloc/assembly.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/format.h"
#include "libmalloc/base/live_stats_path.h"
#include "libmalloc/base/lock.h"
#include "libmalloc/base/os.h"
#include "libmalloc/exit_reports.h"
#include "libmalloc/leak_report.h"

namespace aixmalloc::rt {
namespace {

// A document is being written; requests received so far.
constinit std::atomic<bool> g_live_busy{false};
constinit std::atomic<uint64_t> g_live_requests{0};
constinit std::atomic<uint64_t> g_stats_requests{0};  // waiting, for the statistics
constinit std::atomic<uint64_t> g_leak_requests{0};   // waiting, for the leak document

// AIXMALLOC_STATS_SIGNAL (aixmalloc(7)): the document on request, for `aixmalloc stats --pid`.
// Written to a new file, then renamed into place, so a reader sees a whole document; only
// async-signal-safe calls (open, write, rename, close, getpid, gettid).
constinit const char* g_live_dir = kLiveStatsDirectories[0];

void write_live_document(bool leaks) {
  TextBuf<96> path, tmp;
  uint64_t pid = static_cast<uint64_t>(os::process_id());
  const char* kind = leaks ? "leaks" : "stats";
  live_report_path(path, g_live_dir, kind, pid);
  live_report_temporary_path(tmp, g_live_dir, kind, pid, static_cast<uint64_t>(os::thread_id()));
  os::remove_file(tmp.c_str());  // a leftover of a thread that died while writing
  int fd = os::open_for_writing(tmp.c_str(), /*exclusive=*/true, 0600);
  if (fd < 0) return;
  if (leaks) {
    write_leak_document_on_request(fd);
  } else {
    TextBuf<4096> out;
    render_json_document(out, fd);
  }
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
    if (g_stats_requests.exchange(0, std::memory_order_acq_rel)) write_live_document(false);
    if (g_leak_requests.exchange(0, std::memory_order_acq_rel)) write_live_document(true);
    g_live_busy.store(false, std::memory_order_release);
    if (g_live_requests.load(std::memory_order_acquire) == seen) return;
  }
}

// Writes at once when this thread holds none of the allocator's locks; otherwise (the signal
// interrupted it inside the allocator) when the last lock is released (lock.h).
// sigqueue()'s value 1 asks for the leak document; a plain kill (or the value 0), the statistics.
void on_stats_signal(int, siginfo_t* info, void*) {
  int saved = errno;
  bool leaks = info && info->si_code == SI_QUEUE && info->si_value.sival_int == 1;
  (leaks ? g_leak_requests : g_stats_requests).fetch_add(1, std::memory_order_acq_rel);
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
  if (!os::catch_signal_info(g_config.stats_signal, on_stats_signal)) {
    static const char kNoHandler[] = "AIXMALLOC_STATS_SIGNAL: cannot install the handler; live statistics are off";
    warn(kNoHandler, sizeof(kNoHandler) - 1);
  }
}

void live_statistics_reset_in_child() { g_live_busy.store(false, std::memory_order_relaxed); }

}  // namespace aixmalloc::rt
