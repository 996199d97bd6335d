// large_blocks - big buffers of 256 KiB - 64 MiB.
//
// Pattern modelled: programs handling big buffers (image and I/O buffers,
// decompression windows, large arrays, matrices) that are allocated, used
// and freed again. Sizes are log-distributed between 256 KiB and 64 MiB, so
// they straddle the usual mmap thresholds. Up to 4 blocks are alive at a time;
// each step checks and frees a random one of them and allocates a new block,
// which is touched (a pattern word every 512 bytes: every page is written)
// the way a real buffer is filled. This measures the allocator's large-block
// path: mmap/munmap or heap reuse, page faults on fresh memory, and whether
// memory is returned to the OS or kept (visible in peak RSS). Every 8th step
// a block is also grown with realloc by 25 %, the old contents checked.
//
// Usage: bench_large_blocks [--iters STEPS] [--live N] [--seed N] [--quick]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common.h"

static const char kUsage[] =
    "usage: bench_large_blocks [--iters STEPS (default 400, quick 40)] [--live N (4)] [--seed N] [--quick]\n";

namespace {
constexpr size_t kStride = 512;
struct Blk {
  void* p = nullptr;
  size_t size = 0;
  uint64_t tag = 0;
};
}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv, kUsage);
  const long iters = args.get("iters", 400, 40);
  const long live = args.get("live", 4, 4);
  const uint64_t seed = static_cast<uint64_t>(args.get("seed", 1, 1));
  args.done();
  if (live < 1) bench::fail("large_blocks: --live must be >= 1");

  bench::Rng rng(seed);
  std::vector<Blk> blocks(static_cast<size_t>(live));
  uint64_t sum = 0, bytes = 0;
  for (long it = 0; it < iters; ++it) {
    Blk& b = blocks[rng.below(static_cast<uint64_t>(live))];
    if (b.p) {
      if (!bench::check_pattern(b.p, b.size, b.tag, kStride)) bench::fail("large_blocks: block of %zu bytes corrupted", b.size);
      sum += bench::mix64(b.tag) + b.size;
      std::free(b.p);
    }
    b.size = rng.log_size(256 << 10, 64 << 20);
    b.tag = rng.next();
    b.p = bench::xmalloc(b.size);
    bench::fill_pattern(b.p, b.size, b.tag, kStride);
    bytes += b.size;
    if ((it & 7) == 7) {
      // Grow by 25 %: the old contents must survive, then refill the whole block.
      const size_t ns = b.size + b.size / 4;
      b.p = bench::xrealloc(b.p, ns);
      const char* c = static_cast<const char*>(b.p);
      for (size_t off = 0; off + 16 <= b.size; off += kStride)
        if (bench::load64(c + off) != bench::pattern_word(b.tag, off))
          bench::fail("large_blocks: realloc lost the contents of a %zu byte block", b.size);
      if (bench::load64(c + b.size - 8) != bench::pattern_word(b.tag, b.size - 8))
        bench::fail("large_blocks: realloc lost the tail of a %zu byte block", b.size);
      b.size = ns;
      b.tag = rng.next();
      bench::fill_pattern(b.p, b.size, b.tag, kStride);
      bytes += ns;
    }
  }
  for (Blk& b : blocks) {
    if (!b.p) continue;
    if (!bench::check_pattern(b.p, b.size, b.tag, kStride)) bench::fail("large_blocks: block of %zu bytes corrupted at exit", b.size);
    sum += bench::mix64(b.tag) + b.size;
    std::free(b.p);
  }
  std::printf("result: large_blocks iters=%ld bytes=%llu checksum=%016llx\n", iters, static_cast<unsigned long long>(bytes),
              static_cast<unsigned long long>(bench::mix64(sum)));
  return 0;
}
