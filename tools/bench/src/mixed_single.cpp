// mixed_single - single-threaded mix of sizes from 8 B to 1 MiB.
//
// Pattern modelled: a general-purpose single-threaded program with a working
// set of live objects of very different sizes. Sizes are log-distributed
// between 8 B and 1 MiB (each power-of-two octave equally likely), so most
// blocks are small but most bytes live in big blocks. Each step replaces a
// random slot of the working set (1024 slots): the old block is checked and
// freed, a new one allocated and written. Blocks are touched the way real
// data is: small blocks are filled completely, blocks above 4 KiB get one word
// per 256 bytes (every page is touched). Every 16th step additionally does a
// short-lived temporary allocation freed right away.
//
// Usage: bench_mixed_single [--iters STEPS] [--slots N] [--seed N] [--quick]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common.h"

static const char kUsage[] =
    "usage: bench_mixed_single [--iters STEPS (default 300000, quick 20000)] [--slots N (1024)]\n"
    "                          [--seed N] [--quick]\n";

namespace {
struct Slot {
  void* p = nullptr;
  size_t size = 0;
  uint64_t tag = 0;
};

inline size_t stride_for(size_t n) { return n <= 4096 ? 8 : 256; }
}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv, kUsage);
  const long iters = args.get("iters", 300000, 20000);
  const long nslots = args.get("slots", 1024, 1024);
  const uint64_t seed = static_cast<uint64_t>(args.get("seed", 1, 1));
  args.done();
  if (nslots < 1) bench::fail("--slots must be >= 1");

  bench::Rng rng(seed);
  std::vector<Slot> slots(static_cast<size_t>(nslots));
  uint64_t sum = 0, bytes = 0;

  for (long it = 0; it < iters; ++it) {
    Slot& sl = slots[rng.below(static_cast<uint64_t>(nslots))];
    if (sl.p) {
      if (!bench::check_pattern(sl.p, sl.size, sl.tag, stride_for(sl.size)))
        bench::fail("mixed_single: block of %zu bytes corrupted", sl.size);
      std::free(sl.p);
      sum += bench::mix64(sl.tag);
    }
    sl.size = rng.log_size(8, 1 << 20);
    sl.tag = rng.next();
    sl.p = bench::xmalloc(sl.size);
    bench::fill_pattern(sl.p, sl.size, sl.tag, stride_for(sl.size));
    bytes += sl.size;

    if ((it & 15) == 0) {
      const size_t ts = rng.log_size(8, 1 << 16);
      void* t = bench::xmalloc(ts);
      bench::fill_pattern(t, ts, ~sl.tag, stride_for(ts));
      if (!bench::check_pattern(t, ts, ~sl.tag, stride_for(ts))) bench::fail("mixed_single: temporary corrupted");
      std::free(t);
    }
  }
  for (Slot& sl : slots) {
    if (!sl.p) continue;
    if (!bench::check_pattern(sl.p, sl.size, sl.tag, stride_for(sl.size)))
      bench::fail("mixed_single: block of %zu bytes corrupted at exit", sl.size);
    std::free(sl.p);
    sum += bench::mix64(sl.tag);
  }
  std::printf("result: mixed_single iters=%ld bytes=%llu checksum=%016llx\n", iters,
              static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(bench::mix64(sum)));
  return 0;
}
