// The figures every report starts from: one walk down the configured stack in which each layer
// fills its own sections of the table (libmalloc/base/statistics.def), each lock taken one at a
// time; then the figures the table derives from the others (the sums, a heap's bytes held, the
// bucket summary's rows); and check() over every heap.
#include "libmalloc/assembly.h"
#include "libmalloc/base/bootstrap.h"
#include "options/buckets.h"
#include "options/pool.h"

namespace aixmalloc::rt {

static_assert(pool::kClasses <= kPoolClasses && Buckets::kMaxBuckets <= kMaxBuckets);

namespace {

// AIX's bucket statistics summary: its rows, and the requests that took a range of their own
// (4 MiB and more) as the default allocator's, in heap 0's row.
void derive_buckets(Snapshot* s) {
  BucketsFigures& r = s->buckets;
  s->bucket_rows = static_cast<unsigned>(r.count);
  s->bucket_heaps = s->heaps;
  for (unsigned b = 0; b < s->bucket_rows; ++b) {
    s->bucket[b].index = b;
    s->bucket[b].max_size = (b + 1) * r.factor;
  }
  s->bucket_heap[0].in_default += s->large.allocations;
  r.in_buckets = r.in_default = 0;
  for (unsigned i = 0; i < s->bucket_heaps; ++i) {
    s->bucket_heap[i].index = i;
    r.in_buckets += s->bucket_heap[i].in_buckets;
    r.in_default += s->bucket_heap[i].in_default;
  }
  r.total = r.in_buckets + r.in_default;
}

// Every byte obtained from the system for blocks: heaps, the pool's pages, large blocks (and the
// ranges kept for reuse). Free as far as the program is concerned: the heaps' free structures
// (with their depots), the thread caches, free pool space and the kept ranges.
void derive_totals(Snapshot* s) {
  ProcessFigures& t = s->totals;
  const uint64_t brk_initial = t.brk_initial, brk_current = t.brk_current;  // set by the heaps
  t = ProcessFigures{};
  t.brk_initial = brk_initial;
  t.brk_current = brk_current;
  t.acquired = s->large.bytes + s->large.cached_bytes + s->pool.bytes_reserved + s->watson2.bytes_in_pages;
  t.free_bytes = s->cache.bytes + s->large.cached_bytes + (s->pool.bytes_reserved - s->pool.bytes_in_use);
  // Counters read while threads run can briefly show more in use than the pages hold.
  if (s->watson2.bytes_in_pages > s->watson2.bytes_in_use)
    t.free_bytes += s->watson2.bytes_in_pages - s->watson2.bytes_in_use;
  for (unsigned i = 0; i < s->heaps; ++i) {
    HeapFigures& h = s->heap[i];
    h.held = h.acquired - h.free_bytes;  // AIX: acquired = free + held
    h.active = h.allocations - h.frees;
    t.grow_calls += h.grow_calls;
    t.acquired += h.acquired;
    t.free_bytes += h.free_bytes;
  }
  t.in_use = t.acquired - t.free_bytes;
  t.bootstrap = bootstrap::used();
  s->has_totals = 1;
}

}  // namespace

void snapshot(Snapshot* s) {
  ensure_started();
  s->config = &g_config;
  g_stack.statistics(*s);
  if (s->has_buckets) derive_buckets(s);
  derive_totals(s);
}

bool check(Text* why) {
  if (!ensure_started()) return true;
  return g_stack.check(why);
}

}  // namespace aixmalloc::rt
