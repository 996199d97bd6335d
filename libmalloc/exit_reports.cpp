// The reports written at exit, when the configuration asks for them: AIX's bucket statistics
// (MALLOCOPTIONS=bucket_statistics), the JSON document (AIXMALLOC_STATS_JSON) and the dbx-style
// status report (AIXMALLOC_STATS). Each is formatted on the stack and written with write(2).
#include <unistd.h>

#include "libmalloc/assembly.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/format.h"
#include "libmalloc/base/os.h"
#include "libmalloc/exit_reports.h"
#include "options/pool.h"

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
    BucketReport r;
    gather_buckets(&r);
    render_buckets(r, out, fd);
  });
}

// AIXMALLOC_STATS_JSON: the document at exit.
void json_report() { write_report(g_config.stats_json, render_json_document); }

// AIXMALLOC_STATS: the dbx-style status report, then the pool's and the thread caches' figures.
void status_report() {
  write_report(g_config.stats, [](Text& out, int fd) {
    Snapshot s;
    snapshot(&s);
    render_status(s, out, fd);
    if (pool::enabled()) {
      pool::Totals t;
      pool::totals(&t);
      pool::render(t, out, fd);
      out.flush(fd);
    }
    if (g_tcache) {
      tcache::Totals t;
      cache_totals(&t);
      out.str("        Thread cache (MALLOCOPTIONS=threadcache)\n");
      out.str("                thread caches.................... ").num(t.caches).ch('\n');
      out.str("                blocks cached now................ ").num(t.blocks).str(" (")
          .num(t.bytes).str(" bytes)\n");
      out.str("                requests served from a cache..... ").num(t.hits).ch('\n');
      out.str("                batches taken from the heaps..... ").num(t.refills).ch('\n');
      out.str("                batches given back to the heaps.. ").num(t.flushes).ch('\n');
      out.str("                bytes in the heaps' depots....... ").num(t.depot_bytes).ch('\n');
      out.flush(fd);
    }
  });
}

__attribute__((destructor)) void on_exit_report() {
  if (!ready()) return;
  if (g_config.bucket_statistics.kind != Destination::kNone) bucket_statistics_report();
  if (g_config.stats_json.kind != Destination::kNone) json_report();
  if (g_config.stats.kind != Destination::kNone) status_report();
}

}  // namespace

// Every statistic as one JSON document, from the same snapshot and bucket figures as the text
// reports. Takes each lock it needs one at a time; allocates nothing.
void render_json_document(Text& out, int fd) {
  Snapshot s;
  snapshot(&s);
  BucketReport r;
  bool buckets = g_config.enabled(OptionId::kBuckets);
  if (buckets) gather_buckets(&r);
  pool::Totals pt;
  if (pool::enabled()) pool::totals(&pt);
  tcache::Totals tt;
  if (g_tcache) cache_totals(&tt);
  render_json(s, buckets ? &r : nullptr, pool::enabled() ? &pt : nullptr, g_tcache ? &tt : nullptr,
              out, fd);
}


}  // namespace aixmalloc::rt
