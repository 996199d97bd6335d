// The MALLOCDEBUG output stream (debug_output.h): the destination parsed from output:, opened at the
// first message (again in a child whose path carries %p), and the abort-or-continue of error().
#include "libmalloc/base/debug_output.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "libmalloc/base/fatal.h"
#include "libmalloc/base/os.h"

namespace aixmalloc::debug {
namespace {

Destination g_dest;
bool g_continue = false;
// The descriptor and the process that opened it; a forked child whose path carries %p opens its
// own file. -1: not opened yet.
std::atomic<int> g_fd{-1};
std::atomic<int> g_fd_pid{0};

bool has_pid_marker(const char* path) { return strstr(path, "%p") != nullptr; }

int open_path() {
  char path[sizeof(g_dest.path) + 16];
  int pid = os::process_id();
  if (!expand_path(g_dest.path, pid, path, sizeof(path))) return STDERR_FILENO;
  int fd = os::open_for_writing(path, /*exclusive=*/false, 0644);
  if (fd < 0) {
    TextBuf<400> t;
    t.str("MALLOCDEBUG: output: cannot open ").str(path).str(" (or it is a symbolic link); writing to stderr");
    warn(t.data(), t.size());
    return STDERR_FILENO;
  }
  return fd;
}

int output_fd() {
  switch (g_dest.kind) {
    case Destination::kNone:
    case Destination::kStderr:
      return STDERR_FILENO;
    case Destination::kStdout:
      return STDOUT_FILENO;
    case Destination::kPath:
      break;
  }
  int pid = os::process_id();
  int fd = g_fd.load(std::memory_order_acquire);
  if (fd >= 0 && (g_fd_pid.load(std::memory_order_relaxed) == pid || !has_pid_marker(g_dest.path))) return fd;
  // First message, or the first in a child whose file name differs: open (two threads racing here
  // both open the same file; the loser closes its descriptor).
  int mine = open_path();
  int expected = fd;
  if (g_fd.compare_exchange_strong(expected, mine, std::memory_order_acq_rel)) {
    g_fd_pid.store(pid, std::memory_order_relaxed);
    return mine;
  }
  if (mine > STDERR_FILENO) os::close_file(mine);
  return expected;
}

}  // namespace

void configure_output(const Destination& d, bool continue_after_errors) {
  g_dest = d;
  g_continue = continue_after_errors;
  g_fd.store(-1, std::memory_order_release);
}

bool continue_after_errors() { return g_continue; }

void emit(const char* s, size_t n) { os::write_all(output_fd(), s, n); }

void error(const Text& t) {
  emit(t);
  if (g_continue) return;
  abort();
}

bool expand_path(const char* pattern, int pid, char* out, size_t n) {
  size_t o = 0;
  for (const char* p = pattern; *p; ++p) {
    if (p[0] == '%' && p[1] == 'p') {
      char digits[16];
      size_t k = 0;
      unsigned v = static_cast<unsigned>(pid);
      do digits[k++] = static_cast<char>('0' + v % 10); while ((v /= 10) && k < sizeof(digits));
      if (o + k >= n) return false;
      while (k) out[o++] = digits[--k];
      ++p;
      continue;
    }
    if (o + 1 >= n) return false;
    out[o++] = *p;
  }
  out[o] = '\0';
  return true;
}

}  // namespace aixmalloc::debug
