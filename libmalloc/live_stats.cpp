// The live statistics (aixmalloc(7), AIXMALLOC_STATS_SIGNAL): on a request over the channel
// (live_channel.cpp) the process writes the JSON document of its statistics, or the leak document,
// to a file that `aixmalloc stats --pid` or `aixmalloc leaks --pid` reads; with async-signal-safe
// calls only, and never waiting for a lock its own thread holds.
#include <errno.h>

#include <atomic>

#include "libmalloc/assembly.h"
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

// The first of the directories that is writable now; the last one when none is. Looked up for
// each document, not at start-up, where every process would pay for it.
const char* live_directory() {
  const char* dir = nullptr;
  for (const char* d : kLiveStatsDirectories) {
    dir = d;
    if (os::is_writable_directory(d)) break;
  }
  return dir;
}

// The document on request. Written to a new file, then renamed into place, so a reader sees a
// whole document; only async-signal-safe calls (stat, access, open, write, rename, close, getpid,
// gettid).
void write_live_document(bool leaks) {
  TextBuf<96> path, tmp;
  uint64_t pid = static_cast<uint64_t>(os::process_id());
  const char* kind = leaks ? "leaks" : "stats";
  const char* dir = live_directory();
  live_report_path(path, dir, kind, pid);
  live_report_temporary_path(tmp, dir, kind, pid, static_cast<uint64_t>(os::thread_id()));
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

}  // namespace

// Writes at once when this thread holds none of the allocator's locks; otherwise (the signal
// interrupted it inside the allocator) when the last lock is released (lock.h). What is asked,
// and what a signal that asks nothing does, live_channel.cpp decides.
void live_signal_handler(int sig, siginfo_t* info, void*) {
  int saved = errno;
  LiveRequestKind kind = live_request_kind(sig, info);
  if (kind != LiveRequestKind::kNone) {
    (kind == LiveRequestKind::kLeaks ? g_leak_requests : g_stats_requests)
        .fetch_add(1, std::memory_order_acq_rel);
    g_live_requests.fetch_add(1, std::memory_order_acq_rel);
    if (t_locks_held == 0) {
      serve_live_statistics();
    } else {
      defer_until_unlocked();
    }
  }
  errno = saved;
}

void prepare_live_statistics() { set_deferred_hook(serve_live_statistics); }

// Writes only when set (the page would be copied for nothing: Lock::reset_held_in_child).
void live_statistics_reset_in_child() {
  if (g_live_busy.load(std::memory_order_relaxed)) g_live_busy.store(false, std::memory_order_relaxed);
}

}  // namespace aixmalloc::rt
