// The figures every report starts from: one Snapshot of the heaps, the large blocks, the pool
// and the thread caches, each lock taken one at a time; and check() over every heap.
#include "libmalloc/assembly.h"
#include "libmalloc/base/bootstrap.h"
#include "libmalloc/base/large_blocks.h"
#include "options/pool.h"

namespace aixmalloc::rt {

// The thread caches' figures and the bytes waiting in the heaps' depots.
void cache_totals(tcache::Totals* t) {
  tcache::totals(t);
  t->depot_bytes = with_stack([](auto& st) { return st.depot_bytes(); });
}


void gather_buckets(BucketReport* r) {
  uint64_t large_requests = large::totals().allocations;
  with_stack([&](auto& st) { st.bucket_report(large_requests, r); });
}

bool check(Text* why) {
  if (!ensure_started()) return true;
  return with_stack([&](auto& st) { return st.check(why); });
}

void snapshot(Snapshot* s) {
  ensure_started();
  s->config = &g_config;
  with_stack([&](auto& st) { st.snapshot(s); });
  large::Totals d = large::totals();
  s->large_blocks = d.blocks;
  s->large_bytes = d.bytes;
  s->large_max_blocks = d.max_blocks;
  s->large_max_bytes = d.max_bytes;
  s->large_allocations = d.allocations;
  s->large_cached_bytes = d.cached_bytes;
  s->large_cache_hits = d.cache_hits;
  s->bootstrap_bytes = bootstrap::used();
  if (pool::enabled()) {
    pool::Totals t;
    pool::totals(&t);
    s->pool_bytes = t.bytes_reserved;
    s->pool_in_use = t.bytes_in_use;
  }
  if (g_tcache) {
    tcache::Totals t;
    cache_totals(&t);
    s->cached_bytes = t.bytes;  // (the depots' bytes are in their heaps' free bytes)
  }
}


}  // namespace aixmalloc::rt
