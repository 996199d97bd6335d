// The figures every report starts from: one Snapshot of the heaps, the large blocks, the pool
// and the thread caches, each lock taken one at a time, with the figures the table derives from
// the others (the sums, a heap's bytes held); and check() over every heap.
#include "libmalloc/assembly.h"
#include "libmalloc/base/bootstrap.h"
#include "libmalloc/base/large_blocks.h"
#include "options/pool.h"

namespace aixmalloc::rt {

static_assert(pool::kClasses <= kPoolClasses && Buckets::kMaxBuckets <= kMaxBuckets);

// The thread caches' figures and the bytes waiting in the heaps' depots.
void cache_totals(ThreadCacheFigures* t) {
  tcache::totals(t);
  t->depot_bytes = with_stack([](auto& st) { return st.depot_bytes(); });
}

void gather_buckets(Statistics* s) {
  uint64_t large_requests = large::totals().allocations;
  for (unsigned b = 0; b < kMaxBuckets; ++b) s->bucket[b] = BucketSizeFigures{};
  with_stack([&](auto& st) { st.bucket_report(large_requests, s); });
  BucketsFigures& r = s->buckets;
  s->has_buckets = 1;
  s->bucket_rows = static_cast<unsigned>(r.count);
  for (unsigned b = 0; b < s->bucket_rows; ++b) {
    s->bucket[b].index = b;
    s->bucket[b].max_size = (b + 1) * r.factor;
  }
  r.in_buckets = r.in_default = 0;
  for (unsigned i = 0; i < s->bucket_heaps; ++i) {
    s->bucket_heap[i].index = i;
    r.in_buckets += s->bucket_heap[i].in_buckets;
    r.in_default += s->bucket_heap[i].in_default;
  }
  r.total = r.in_buckets + r.in_default;
}

bool check(Text* why) {
  if (!ensure_started()) return true;
  return with_stack([&](auto& st) { return st.check(why); });
}

void snapshot(Snapshot* s) {
  ensure_started();
  s->config = &g_config;
  with_stack([&](auto& st) { st.snapshot(s); });
  s->large = large::totals();
  s->has_large = 1;
  if (pool::enabled()) {
    pool::totals(&s->pool, s->pool_class);
    s->has_pool = 1;
    s->pool_classes = pool::kClasses;
  }
  if (g_tcache) {
    cache_totals(&s->cache);
    s->has_cache = 1;
  }
  // Every byte obtained from the system for blocks: heaps, the pool's pages, large blocks (and the
  // ranges kept for reuse). Free as far as the program is concerned: the heaps' free structures
  // (with their depots), the thread caches, free pool space and the kept ranges.
  ProcessFigures& t = s->totals;
  t = ProcessFigures{};
  t.acquired = s->large.bytes + s->large.cached_bytes + s->pool.bytes_reserved;
  t.free_bytes =
      s->cache.bytes + s->large.cached_bytes + (s->pool.bytes_reserved - s->pool.bytes_in_use);
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

// Every figure of the table: the snapshot and, with buckets, the bucket statistics.
void gather_statistics(Snapshot* s) {
  snapshot(s);
  if (g_config.enabled(OptionId::kBuckets)) gather_buckets(s);
}

}  // namespace aixmalloc::rt
