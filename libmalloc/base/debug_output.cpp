// The MALLOCDEBUG output stream (debug_output.h): each message written whole on the descriptor
// report_output.h gives for it, and the abort-or-continue of error().
#include "libmalloc/base/debug_output.h"

#include <cstdlib>

#include "libmalloc/base/os.h"
#include "libmalloc/base/report_output.h"

namespace aixmalloc::debug {
namespace {

bool g_continue = false;

}  // namespace

void configure_output(bool continue_after_errors) { g_continue = continue_after_errors; }

bool continue_after_errors() { return g_continue; }

void emit(const char* s, size_t n) {
  int fd = report::descriptor(report::Report::kDebugOutput);
  if (fd >= 0) os::write_all(fd, s, n);
}

void error(const Text& t) {
  emit(t);
  if (g_continue) return;
  abort();
}

}  // namespace aixmalloc::debug
