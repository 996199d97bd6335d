// The destinations of report_output.h: the standard streams kept at start-up, the report files
// claimed at start-up and opened again by a forked child or after the program closed them, and
// the one line that says why a file could not be opened.
#include "libmalloc/base/report_output.h"

#include <errno.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "libmalloc/base/error_text.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/format.h"
#include "libmalloc/base/os.h"
#include "libmalloc/base/platform.h"

namespace aixmalloc::report {
namespace {

// Where the kept duplicates go: above the descriptors a program numbers by hand (shells use up to
// 255), below the usual limit of 1024.
constexpr int kHighDescriptor = 1000;

// A standard stream as it was at start-up.
struct KeptStream {
  std::atomic<bool> kept{false};
  bool open = false;  // the process started with it open
  int dup = -1;       // the duplicate, or -1 when none could be made
  os::FileId id;      // what it referred to
};
constinit KeptStream g_streams[3];

// One report's destination and, for a file, the descriptor this process writes it on. All zero
// until prepare() fills it (what, mode and fd are read only for a file, which prepare() names), so
// that the table lies among the variables few processes use.
struct Target {
  Destination dest;
  const char* what = nullptr;
  unsigned mode = 0;
  std::atomic<int> fd{0};
  std::atomic<int> owner{0};  // the process that opened fd (0: none yet); fd -1: it could not
  std::atomic<uint64_t> dev{0}, ino{0};
  std::atomic<bool> busy{false};  // a thread is opening the file
};
AIXMALLOC_COLD constinit Target g_targets[static_cast<unsigned>(Report::kCount)];

void warn_cannot_open(const char* what, const char* path, int err) {
  char number[24];
  TextBuf<512> t;
  t.str(what)
      .str(": cannot open ")
      .str(path)
      .str(" (")
      .str(error_text(err, number, sizeof number))
      .str("); writing to standard error instead");
  warn(t.data(), t.size());
}

// A report file of process `pid`. A plain path is the lock holder's; any other process, and a
// forked child of the holder (`child`), writes PATH.PID. Another report with the same path in the
// same process shares its descriptor, so the reports follow each other in one file.
int open_file(Target& t, int pid, bool child, os::FileId* id) {
  for (Target& o : g_targets) {
    if (&o == &t || o.dest.kind != Destination::kPath || strcmp(o.dest.path, t.dest.path) != 0)
      continue;
    int fd = o.fd.load(std::memory_order_acquire);
    if (o.owner.load(std::memory_order_acquire) == pid && fd >= 0 && os::file_id(fd, id)) return fd;
  }
  char path[sizeof(Destination::path) + 24];
  if (!expand_path(t.dest.path, pid, path, sizeof path - 12)) {
    warn_cannot_open(t.what, t.dest.path, ENAMETOOLONG);
    return -1;
  }
  int err = 0, fd = -1;
  if (has_pid_marker(t.dest.path)) {
    fd = os::open_for_writing(path, /*exclusive=*/false, t.mode, &err);
  } else {
    if (!child) fd = os::open_locked_for_writing(path, t.mode, &err);
    if (child || err == EWOULDBLOCK) {
      Text alt(path + strlen(path), 12);
      alt.ch('.').num(static_cast<uint64_t>(pid)).c_str();
      fd = os::open_for_writing(path, /*exclusive=*/false, t.mode, &err);
    }
  }
  if (fd < 0) {
    warn_cannot_open(t.what, path, err);
    return -1;
  }
  if (!os::file_id(fd, id)) *id = os::FileId{};
  return fd;
}

// The descriptor of a file target that this process opened and still holds; -1 otherwise.
int held(const Target& t, int pid, bool* failed) {
  if (t.owner.load(std::memory_order_acquire) != pid) return -1;
  int fd = t.fd.load(std::memory_order_acquire);
  if (fd < 0) {
    *failed = true;  // said once; the report goes to standard error
    return -1;
  }
  os::FileId now;
  bool same = os::file_id(fd, &now) && now.dev == t.dev.load(std::memory_order_relaxed) &&
              now.ino == t.ino.load(std::memory_order_relaxed);
  return same ? fd : -1;
}

int file_descriptor(Target& t) {
  int pid = os::process_id();
  bool failed = false;
  int fd = held(t, pid, &failed);
  if (fd >= 0) return fd;
  if (failed) return stream(STDERR_FILENO);
  // First use, a forked child, or the program closed the file: open it, one thread at a time (a
  // thread that finds another opening it, or a signal handler that interrupted the opening, writes
  // this once to standard error).
  if (t.busy.exchange(true, std::memory_order_acquire)) return stream(STDERR_FILENO);
  fd = held(t, pid, &failed);
  if (fd < 0 && !failed) {
    int owner = t.owner.load(std::memory_order_acquire);
    os::FileId id;
    fd = open_file(t, pid, owner != 0 && owner != pid, &id);
    t.dev.store(id.dev, std::memory_order_relaxed);
    t.ino.store(id.ino, std::memory_order_relaxed);
    t.fd.store(fd, std::memory_order_release);
    t.owner.store(pid, std::memory_order_release);
  }
  t.busy.store(false, std::memory_order_release);
  return fd >= 0 ? fd : stream(STDERR_FILENO);
}

}  // namespace

void keep_stream(int fd) {
  KeptStream& k = g_streams[fd];
  if (k.kept.load(std::memory_order_acquire)) return;
  k.open = os::file_id(fd, &k.id);
  k.dup = k.open ? os::duplicate_high(fd, kHighDescriptor) : -1;
  k.kept.store(true, std::memory_order_release);
}

int stream(int fd) {
  const KeptStream& k = g_streams[fd];
  if (!k.kept.load(std::memory_order_acquire)) return fd;
  if (!k.open) return -1;
  os::FileId now;
  if (k.dup >= 0 && os::file_id(k.dup, &now) && now == k.id) return k.dup;
  if (os::file_id(fd, &now) && now == k.id) return fd;
  return -1;
}

void prepare(Report r, const Destination& d, const char* what, unsigned mode) {
  Target& t = g_targets[static_cast<unsigned>(r)];
  t.dest = d;
  t.what = what;
  t.mode = mode;
  t.fd.store(-1, std::memory_order_relaxed);
  t.owner.store(0, std::memory_order_release);
  keep_stream(STDERR_FILENO);  // every report's lines, and its fallback
  if (d.kind == Destination::kStdout) keep_stream(STDOUT_FILENO);
  // A plain path is claimed now, before any child starts; a path with %p, whose name is this
  // process's alone, is opened when the report is written (no empty file for a process that
  // ends without its report).
  if (d.kind == Destination::kPath && !has_pid_marker(d.path)) file_descriptor(t);
}

int descriptor(Report r) {
  Target& t = g_targets[static_cast<unsigned>(r)];
  switch (t.dest.kind) {
    case Destination::kNone:
    case Destination::kStderr:
      return stream(STDERR_FILENO);
    case Destination::kStdout:
      return stream(STDOUT_FILENO);
    case Destination::kPath:
      break;
  }
  return file_descriptor(t);
}

bool has_pid_marker(const char* pattern) {
  return strstr(pattern, "%p") != nullptr;
}

bool expand_path(const char* pattern, int pid, char* out, size_t n) {
  Text t(out, n);
  for (const char* p = pattern; *p; ++p) {
    if (p[0] == '%' && p[1] == 'p') {
      t.num(static_cast<uint64_t>(pid));
      ++p;
    } else {
      t.ch(*p);
    }
  }
  t.c_str();
  return !t.truncated();
}

}  // namespace aixmalloc::report
