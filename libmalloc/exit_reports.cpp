// The reports written at exit, when the configuration asks for them: AIX's bucket statistics
// (MALLOCOPTIONS=bucket_statistics), the JSON document (AIXMALLOC_STATS_JSON) and the dbx-style
// status report (AIXMALLOC_STATS); the Malloc Log's leak reports (leak_report.h). Each is formatted on the stack and written with write(2).
#include "libmalloc/exit_reports.h"

#include <unistd.h>

#include "libmalloc/assembly.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/format.h"
#include "libmalloc/base/os.h"
#include "libmalloc/leak_report.h"

namespace aixmalloc::rt {
namespace {

int open_destination(const Destination& d) {
  switch (d.kind) {
    case Destination::kStdout:
      return STDOUT_FILENO;
    case Destination::kStderr:
      return STDERR_FILENO;
    case Destination::kPath: {
      if (os::is_secure()) return -1;
      int fd = os::open_for_writing(d.path, /*exclusive=*/false, 0666);
      if (fd < 0) {
        TextBuf<400> t;
        t.str("cannot open ").str(d.path).str(" for the report; writing it to stderr");
        warn(t.data(), t.size());
        return STDERR_FILENO;
      }
      return fd;
    }
    case Destination::kNone:
      break;
  }
  return -1;
}

// Opens a report's destination, lets `render` write to it through a stack buffer, closes it.
template <class Render>
void write_report(const Destination& d, Render render) {
  int fd = open_destination(d);
  if (fd < 0) return;
  TextBuf<4096> out;
  render(out, fd);
  if (fd > STDERR_FILENO) os::close_file(fd);
}

void bucket_statistics_report() {
  write_report(g_config.bucket_statistics, [](Text& out, int fd) {
    Snapshot s;
    snapshot(&s);
    render_buckets(s, out, fd);
  });
}

// AIXMALLOC_STATS_JSON: the document at exit.
void json_report() { write_report(g_config.stats_json, render_json_document); }

// AIXMALLOC_STATS: the dbx-style status report, with every figure of the table.
void status_report() {
  write_report(g_config.stats, [](Text& out, int fd) {
    Snapshot s;
    snapshot(&s);
    render_status(s, out, fd);
  });
}

__attribute__((destructor)) void on_exit_report() {
  if (!ready()) return;
  if (g_config.bucket_statistics.kind != Destination::kNone) bucket_statistics_report();
  if (g_config.stats_json.kind != Destination::kNone) json_report();
  if (g_config.stats.kind != Destination::kNone) status_report();
  leak_reports_at_exit();  // MALLOCDEBUG=report_allocations, AIXMALLOC_LEAKS_JSON
}

}  // namespace

// Every statistic as one JSON document, gathered as for the status report. Takes each lock it
// needs one at a time; allocates nothing.
void render_json_document(Text& out, int fd) {
  Snapshot s;
  snapshot(&s);
  render_json(s, out, fd);
}

}  // namespace aixmalloc::rt
