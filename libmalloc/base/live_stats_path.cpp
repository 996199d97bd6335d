// The live-statistics file names (see live_stats_path.h), formatted without allocating: the
// runtime builds them inside a signal handler.
#include "libmalloc/base/live_stats_path.h"

namespace aixmalloc {

const char* live_report_path(Text& out, const char* dir, const char* kind, uint64_t pid) {
  out.clear();
  out.str(dir).str("/aixmalloc-").str(kind).ch('.').num(pid).str(".json");
  return out.c_str();
}

const char* live_report_temporary_path(Text& out, const char* dir, const char* kind, uint64_t pid, uint64_t tid) {
  out.clear();
  out.str(dir).str("/.aixmalloc-").str(kind).ch('.').num(pid).ch('.').num(tid).str(".tmp");
  return out.c_str();
}

const char* live_stats_path(Text& out, const char* dir, uint64_t pid) {
  return live_report_path(out, dir, "stats", pid);
}

const char* live_stats_temporary_path(Text& out, const char* dir, uint64_t pid, uint64_t tid) {
  return live_report_temporary_path(out, dir, "stats", pid, tid);
}

}  // namespace aixmalloc
