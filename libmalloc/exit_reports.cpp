// The reports written at exit, when the configuration asks for them: AIX's bucket statistics
// (MALLOCOPTIONS=bucket_statistics), the JSON document (AIXMALLOC_STATS_JSON) and the dbx-style
// status report (AIXMALLOC_STATS); the Malloc Log's leak reports (leak_report.h). Each is
// formatted on the stack and written with write(2) where report_output.h says.
#include "libmalloc/exit_reports.h"

#include "libmalloc/assembly.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/format.h"
#include "libmalloc/base/report_output.h"
#include "libmalloc/leak_report.h"

namespace aixmalloc::rt {
namespace {

using report::Report;

// Lets `render` write a report on its destination's descriptor through a stack buffer. The
// descriptor stays open: the process is ending, and a later report may share the file.
template <class Render>
void write_report(Report r, Render render) {
  int fd = report::descriptor(r);
  if (fd < 0) return;
  TextBuf<4096> out;
  render(out, fd);
}

void bucket_statistics_report() {
  write_report(Report::kBucketStatistics, [](Text& out, int fd) {
    Snapshot s;
    snapshot(&s);
    render_buckets(s, out, fd);
  });
}

// AIXMALLOC_STATS_JSON: the document at exit.
void json_report() { write_report(Report::kStatsJson, render_json_document); }

// AIXMALLOC_STATS: the dbx-style status report, with every figure of the table.
void status_report() {
  write_report(Report::kStats, [](Text& out, int fd) {
    Snapshot s;
    snapshot(&s);
    render_status(s, out, fd);
  });
}

bool debug_tools_on(const Config& c) {
  for (size_t i = 0; i < kOptionCount; ++i)
    if ((kOptions[i].where & kInDebug) && c.options[i].on) return true;
  return false;
}

__attribute__((destructor)) void on_exit_report() {
  if (!ready()) return;
  if (g_config.bucket_statistics.kind != Destination::kNone) bucket_statistics_report();
  if (g_config.stats_json.kind != Destination::kNone) json_report();
  if (g_config.stats.kind != Destination::kNone) status_report();
  leak_reports_at_exit();  // MALLOCDEBUG=report_allocations, AIXMALLOC_LEAKS_JSON
}

}  // namespace

void prepare_reports() {
  const Config& c = g_config;
  if (c.bucket_statistics.kind != Destination::kNone) {
    static char what[48];
    Text t(what, sizeof what);
    Variable source = c.option(OptionId::kBucketStatistics).source;
    t.str(spec(source).name()).str(": bucket_statistics").c_str();
    report::prepare(Report::kBucketStatistics, c.bucket_statistics, what, 0666);
  }
  if (c.stats.kind != Destination::kNone)
    report::prepare(Report::kStats, c.stats, "AIXMALLOC_STATS", 0666);
  if (c.stats_json.kind != Destination::kNone)
    report::prepare(Report::kStatsJson, c.stats_json, "AIXMALLOC_STATS_JSON", 0666);
  if (c.leaks_json.kind != Destination::kNone && leak_reports_wanted())
    report::prepare(Report::kLeaksJson, c.leaks_json, "AIXMALLOC_LEAKS_JSON", 0666);
  if (debug_tools_on(c))
    report::prepare(Report::kDebugOutput, c.debug.output, "MALLOCDEBUG: output", 0644);
}

// Every statistic as one JSON document, gathered as for the status report. Takes each lock it
// needs one at a time; allocates nothing.
void render_json_document(Text& out, int fd) {
  Snapshot s;
  snapshot(&s);
  render_json(s, out, fd);
}

}  // namespace aixmalloc::rt
