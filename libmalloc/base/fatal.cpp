// The fatal reports and warnings of fatal.h: each message formatted on the stack and written to
// stderr with one write(2), then abort() for the fatal ones; nothing here allocates.
#include "libmalloc/base/fatal.h"

#include <unistd.h>

#include <cstdlib>

#include "libmalloc/base/format.h"
#include "libmalloc/base/report_output.h"

namespace aixmalloc {

void report_misuse(const char* call, const void* p, Misuse what) {
  TextBuf<256> t;
  t.str("aixmalloc: ").str(call).str("(): ");
  switch (what) {
    case Misuse::kNotOwned:
      t.str("invalid pointer ").ptr(p).str(": not owned by this allocator");
      break;
    case Misuse::kDoubleFree:
      t.str("double free of ").ptr(p);
      break;
    case Misuse::kNotABlock:
      t.str("invalid pointer ").ptr(p).str(": not the start of an allocated block");
      break;
  }
  t.ch('\n').flush(STDERR_FILENO);
  abort();
}

void report_corruption(const char* where, const char* what, const void* p) {
  TextBuf<256> t;
  t.str("aixmalloc: heap corruption detected in ").str(where).str(": ").str(what).str(" at ").ptr(p);
  t.ch('\n');
  t.flush(STDERR_FILENO);
  abort();
}

void report_lock_reentry(const void* lock) {
  TextBuf<256> t;
  t.str("aixmalloc: the allocator was entered again by a thread already inside it (a signal handler that "
        "calls malloc or free?): lock ")
      .ptr(lock)
      .str(" held by this thread\n");
  t.flush(STDERR_FILENO);
  abort();
}

void warn(const char* line, size_t len) {
  int fd = report::stream(STDERR_FILENO);  // the standard error the process started with
  if (fd < 0) return;
  TextBuf<512> t;
  t.str("aixmalloc: ").str(line, len).ch('\n');
  t.flush(fd);
}

}  // namespace aixmalloc
