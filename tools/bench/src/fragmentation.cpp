// fragmentation - holes left by short-lived blocks, then a need for big blocks.
//
// Pattern modelled: a long-running program whose heap gets fragmented: small
// and medium blocks (16 B - 16 KiB, log-distributed) are allocated
// interleaved, where about 1 in 12 is long-lived (a cache entry, a session)
// and the rest are short-lived (request temporaries). The short-lived ones are
// then freed, which leaves the long-lived blocks scattered over the heap with
// free holes in between. Next a phase needs large blocks (64 KiB - 1 MiB,
// 160 MiB in total): they fit into the freed space only if the allocator
// coalesces the holes (or returns them to the OS and maps new memory); a
// poorly coalescing allocator grows instead. The large blocks are then freed.
// This cycle repeats --iters times; long-lived blocks of every cycle stay
// alive to the end (so live memory grows slowly, as in a real server).
//
// The program prints peak RSS (VmHWM from /proc/self/status) and the RSS at
// the end (from /proc/self/statm, after the last large-block phase, with only
// the long-lived blocks still allocated) on an "info:" line, besides the
// usual "result:" line. Lower is better for both.
//
// Usage: bench_fragmentation [--iters CYCLES] [--seed N] [--quick]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common.h"

static const char kUsage[] =
    "usage: bench_fragmentation [--iters CYCLES (default 6, quick 1)] [--small-mib N (192, quick 96)]\n"
    "                           [--large-mib N (160, quick 80)]\n"
    "                           [--seed N] [--quick]\n";

namespace {

struct Blk {
  void* p;
  size_t size;
  uint64_t tag;
};

constexpr size_t kSmallStride = 64;   // one word per cache line
constexpr size_t kLargeStride = 512;  // every page, several words per page

Blk make(bench::Rng& rng, size_t s, size_t stride) {
  Blk b{bench::xmalloc(s), s, rng.next()};
  bench::fill_pattern(b.p, s, b.tag, stride);
  return b;
}

void release(const Blk& b, size_t stride, uint64_t* sum) {
  if (!bench::check_pattern(b.p, b.size, b.tag, stride)) bench::fail("fragmentation: block of %zu bytes corrupted", b.size);
  *sum += bench::mix64(b.tag) + b.size;
  std::free(b.p);
}

}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv, kUsage);
  const long cycles = args.get("iters", 6, 1);
  const long small_mib = args.get("small-mib", 192, 96);
  const long large_mib = args.get("large-mib", 160, 80);
  const uint64_t seed = static_cast<uint64_t>(args.get("seed", 1, 1));
  args.done();

  bench::Rng rng(seed);
  std::vector<Blk> longlived, shortlived, large;
  uint64_t sum = 0;
  size_t live_bytes = 0;
  for (long c = 0; c < cycles; ++c) {
    // Phase 1: interleaved long-lived and short-lived blocks.
    size_t total = 0;
    shortlived.clear();
    while (total < static_cast<size_t>(small_mib) << 20) {
      const size_t s = rng.log_size(16, 16384);
      total += s;
      if (rng.below(12) == 0) {
        longlived.push_back(make(rng, s, kSmallStride));
        live_bytes += s;
      } else {
        shortlived.push_back(make(rng, s, kSmallStride));
      }
    }
    // Phase 2: free the short-lived ones, leaving holes.
    for (const Blk& b : shortlived) release(b, kSmallStride, &sum);
    shortlived.clear();
    // Phase 3: large blocks, all alive at the same time, then freed.
    total = 0;
    large.clear();
    while (total < static_cast<size_t>(large_mib) << 20) {
      const size_t s = rng.log_size(64 << 10, 1 << 20);
      total += s;
      large.push_back(make(rng, s, kLargeStride));
    }
    for (const Blk& b : large) release(b, kLargeStride, &sum);
    large.clear();
  }
  const long end_rss = bench::rss_kib();
  const long peak_rss = bench::peak_rss_kib();
  for (const Blk& b : longlived) release(b, kSmallStride, &sum);

  std::printf("info: peak_rss_kib=%ld end_rss_kib=%ld live_kib=%zu\n", peak_rss, end_rss, live_bytes >> 10);
  std::printf("result: fragmentation cycles=%ld longlived=%zu checksum=%016llx\n", cycles, longlived.size(),
              static_cast<unsigned long long>(bench::mix64(sum)));
  return 0;
}
