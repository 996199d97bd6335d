// reuse - the same memory freed and allocated again, over and over.
//
// Pattern modelled: a program that works in rounds (a request loop, a frame loop, a batch job)
// and in every round allocates the same set of medium buffers (64 KiB - 1 MiB, about 32 MiB in
// all), touches every page, and frees them all at the end of the round. An allocator that gives
// freed pages back to the OS on every free (AIX's disclaim, taken literally) pays a system call per
// free and a page fault per page on the next round; one that keeps them pays nothing. This is the
// workload that shows the cost of MALLOCOPTIONS=disclaim, and of 3.1's page return.
//
// Usage: bench_reuse [--iters ROUNDS] [--seed N] [--quick]
// Result: "result: reuse rounds=.. bytes=.. checksum=.."
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common.h"

static const char kUsage[] =
    "usage: bench_reuse [--iters ROUNDS (default 200, quick 20)] [--seed N] [--quick]\n";

namespace {
constexpr size_t kStride = 4096;  // one pattern word a page: every page is touched
constexpr int kBuffers = 64;
}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv, kUsage);
  const long rounds = args.get("iters", 200, 20);
  const uint64_t seed = static_cast<uint64_t>(args.get("seed", 1, 1));
  args.done();

  bench::Rng rng(seed);
  std::vector<size_t> sizes(kBuffers);
  for (size_t& s : sizes) s = rng.log_size(64 << 10, 1 << 20);  // the same set every round
  std::vector<void*> bufs(kBuffers);
  uint64_t sum = 0, bytes = 0;
  for (long r = 0; r < rounds; ++r) {
    for (int i = 0; i < kBuffers; ++i) {
      bufs[i] = bench::xmalloc(sizes[i]);
      bench::fill_pattern(bufs[i], sizes[i], static_cast<uint64_t>(r * kBuffers + i), kStride);
      bytes += sizes[i];
    }
    for (int i = 0; i < kBuffers; ++i) {
      if (!bench::check_pattern(bufs[i], sizes[i], static_cast<uint64_t>(r * kBuffers + i), kStride))
        bench::fail("reuse: buffer of %zu bytes corrupted", sizes[i]);
      sum += bench::mix64(static_cast<uint64_t>(r * kBuffers + i)) + sizes[i];
      std::free(bufs[i]);
    }
  }
  std::printf("result: reuse rounds=%ld bytes=%llu checksum=%016llx\n", rounds,
              static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(bench::mix64(sum)));
  return 0;
}
