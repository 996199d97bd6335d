// Sums the statistics documents of one run of `aixmalloc compare` (see report_sum.h). Counts add
// up over the processes of the tree; threads and heaps are each process's own, so the most of any
// one process is kept.
#include "tools/cli/report_sum.h"

#include <unistd.h>

#include <algorithm>

#include "tools/cli/cli.h"
#include "tools/cli/dump.h"

namespace aixmalloc::cli {

namespace {

void add_sizes(std::vector<std::pair<uint64_t, uint64_t>>* into,
               const std::vector<std::pair<uint64_t, uint64_t>>& from) {
  for (const auto& entry : from) {  // (no structured binding: clang 14 cannot capture one)
    uint64_t size = entry.first;
    auto at =
        std::find_if(into->begin(), into->end(), [&](const auto& e) { return e.first == size; });
    if (at == into->end()) {
      into->emplace_back(size, entry.second);
    } else {
      at->second += entry.second;
    }
  }
}

// One process's document.
RunFigures figures_of(const Dump& d) {
  RunFigures r;
  r.documents = 1;
  for (const Figures& h : d.rows(SectionId::kHeap)) {
    uint64_t allocs = h.get(&HeapFigures::allocations).value_or(0);
    r.heap_allocs += allocs;
    r.heap_frees += h.get(&HeapFigures::frees).value_or(0);
    r.heap_reallocs += h.get(&HeapFigures::reallocs).value_or(0);
    r.contended += h.get(&HeapFigures::contended).value_or(0);
    r.heaps_used += allocs > 0;
    ++r.heaps;
  }
  const Figures* large = d.one(SectionId::kLarge);
  if (large) r.large_allocs = large->get(&LargeFigures::allocations).value_or(0);
  if (const Figures* pool = d.one(SectionId::kPool)) {
    r.pool = true;
    r.pool_threads = pool->get(&PoolFigures::pools).value_or(0);
  }
  for (const Figures& c : d.rows(SectionId::kPoolClass)) {
    uint64_t n = c.get(&PoolClassFigures::allocations).value_or(0);
    r.lockfree += n;
    r.pool_classes.emplace_back(c.get(&PoolClassFigures::class_size).value_or(0), n);
  }
  if (const Figures* tc = d.one(SectionId::kThreadCache)) {
    r.lockfree += tc->get(&ThreadCacheFigures::hits).value_or(0);
    r.cache_threads = tc->get(&ThreadCacheFigures::caches).value_or(0);
  }
  if (const Figures* w2 = d.one(SectionId::kWatson2))
    r.watson2_threads = w2->get(&Watson2Figures::heaps).value_or(0);
  if (const Figures* b = d.one(SectionId::kBuckets)) {
    r.buckets = true;
    r.bucket_default = b->get(&BucketsFigures::in_default).value_or(0);
    r.bucket_total = b->get(&BucketsFigures::total).value_or(0);
  }
  for (const Figures& b : d.rows(SectionId::kBucketSize))
    r.bucket_sizes.emplace_back(b.get(&BucketSizeFigures::max_size).value_or(0),
                                b.get(&BucketSizeFigures::allocations).value_or(0));
  // Heaps and pool pages never shrink, so at exit they are at their peak; large blocks come and go.
  if (const Figures* totals = d.one(SectionId::kProcess)) {
    r.acquired = totals->get(&ProcessFigures::acquired).value_or(0);
    r.bytes_free = totals->get(&ProcessFigures::free_bytes).value_or(0);
    r.bytes_in_use = totals->get(&ProcessFigures::in_use).value_or(0);
  }
  if (large) {
    uint64_t now = large->get(&LargeFigures::bytes).value_or(0);
    r.acquired =
        r.acquired - std::min(r.acquired, now) + large->get(&LargeFigures::max_bytes).value_or(0);
  }
  return r;
}

}  // namespace

void RunFigures::add(const RunFigures& o) {
  documents += o.documents;
  heap_allocs += o.heap_allocs;
  heap_frees += o.heap_frees;
  heap_reallocs += o.heap_reallocs;
  contended += o.contended;
  large_allocs += o.large_allocs;
  lockfree += o.lockfree;
  acquired += o.acquired;
  bytes_free += o.bytes_free;
  bytes_in_use += o.bytes_in_use;
  heaps = std::max(heaps, o.heaps);
  heaps_used = std::max(heaps_used, o.heaps_used);
  pool_threads = std::max(pool_threads, o.pool_threads);
  cache_threads = std::max(cache_threads, o.cache_threads);
  watson2_threads = std::max(watson2_threads, o.watson2_threads);
  pool |= o.pool;
  buckets |= o.buckets;
  add_sizes(&pool_classes, o.pool_classes);
  add_sizes(&bucket_sizes, o.bucket_sizes);
  bucket_default += o.bucket_default;
  bucket_total += o.bucket_total;
}

bool read_run_reports(const std::string& dir, RunFigures* out) {
  bool any = false;
  for (const std::string& path : report_files(dir + "/*.json")) {  // sorted by glob
    std::string text, error;
    Dump dump;
    bool read = read_all(path, &text, &error);
    unlink(path.c_str());
    if (!read || !parse_dump(text, &dump, &error) || dump.formats != std::vector<std::string>{"JSON"})
      continue;
    out->add(figures_of(dump));
    any = true;
  }
  return any;
}

}  // namespace aixmalloc::cli
