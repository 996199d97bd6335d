// The statistics of one run of `aixmalloc compare`: every JSON document the run's processes wrote
// into its directory (a command that forks or execs leaves one per process), read through the
// table of figures and summed into the figures compare shows and its advice reads.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace aixmalloc::cli {

struct RunFigures {
  unsigned documents = 0;  // processes that wrote a document
  // Summed over the processes.
  uint64_t heap_allocs = 0, heap_frees = 0, heap_reallocs = 0;
  uint64_t contended = 0;     // heaps[].lock_contended
  uint64_t large_allocs = 0;  // large_blocks.allocations_since_start
  uint64_t lockfree = 0;      // pool.by_class[].allocations + threadcache.requests_served
  uint64_t acquired = 0;      // heaps and pool pages at exit, plus the most large bytes at once
  uint64_t bytes_free = 0, bytes_in_use = 0;  // totals at exit
  // The most in any one process (threads and heaps are a process's own).
  uint64_t heaps = 0, heaps_used = 0;  // heaps configured, heaps that served a request
  uint64_t pool_threads = 0;           // pool.thread_pools
  uint64_t cache_threads = 0;          // threadcache.caches
  uint64_t watson2_threads = 0;        // watson2.thread_heaps
  bool pool = false, buckets = false;
  std::vector<std::pair<uint64_t, uint64_t>> pool_classes;  // class size -> allocations
  std::vector<std::pair<uint64_t, uint64_t>> bucket_sizes;  // largest size -> allocations
  uint64_t bucket_default = 0, bucket_total = 0;            // buckets.default_allocator, total

  void add(const RunFigures& o);  // another process of the same run
};

// Reads every "*.json" file of `dir` as a statistics document, sums them into *out and removes
// them. False when none of them is one (the processes ended with _exit, or the run wrote none).
bool read_run_reports(const std::string& dir, RunFigures* out);

}  // namespace aixmalloc::cli
