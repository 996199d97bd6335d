// large_loop - large buffers allocated, filled and freed in a loop, one or two at a time.
//
// Pattern modelled: a program that takes a large scratch buffer for each unit of work and frees it
// at the end (a compressor's window, an image or a decoded file, a sort's run buffer, a server's
// response body). Sizes are log-distributed from 256 KiB to --max-mib MiB (32 by default), so most
// buffers fall below the sizes that allocators usually map straight from the system, and some above.
// Each buffer gets one word written on every page (the first use of every page costs a fault if the
// allocator gave the memory back) and is checked before free. One iteration in four keeps the
// buffer for the next iteration, so two are live at times.
//
// Usage: bench_large_loop [--iters N] [--max-mib M] [--seed N] [--quick]
#include <cstdint>
#include <cstdio>

#include "common.h"

static const char kUsage[] =
    "usage: bench_large_loop [--iters N (default 600, quick 60)] [--max-mib M (32)] [--seed N] [--quick]\n";

namespace {

constexpr size_t kStride = 4096;

void fill(char* p, size_t n, uint64_t tag) {
  for (size_t off = 0; off + 8 <= n; off += kStride) bench::store64(p + off, bench::pattern_word(tag, off));
  bench::store64(p + n - 8, bench::pattern_word(tag, n - 8));
}

void check(const char* p, size_t n, uint64_t tag) {
  for (size_t off = 0; off + 8 <= n; off += kStride)
    if (bench::load64(p + off) != bench::pattern_word(tag, off)) bench::fail("large_loop: buffer %p corrupted", p);
  if (bench::load64(p + n - 8) != bench::pattern_word(tag, n - 8)) bench::fail("large_loop: buffer %p corrupted", p);
}

}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv, kUsage);
  const long iters = args.get("iters", 600, 60);
  const long max_mib = args.get("max-mib", 32, 32);
  const uint64_t seed = static_cast<uint64_t>(args.get("seed", 1, 1));
  args.done();
  if (max_mib < 1) bench::fail("large_loop: --max-mib must be >= 1");
  const size_t lo = size_t{256} << 10, hi = static_cast<size_t>(max_mib) << 20;

  bench::Rng rng(seed);
  uint64_t sum = 0;
  char* kept = nullptr;
  size_t kept_n = 0;
  uint64_t kept_tag = 0;
  for (long i = 0; i < iters; ++i) {
    const size_t n = rng.log_size(lo, hi > lo ? hi : lo) & ~size_t{7};
    const uint64_t tag = rng.next();
    char* p = static_cast<char*>(bench::xmalloc(n));
    fill(p, n, tag);
    sum += bench::mix64(tag) + n;
    if (kept) {
      check(kept, kept_n, kept_tag);
      std::free(kept);
      kept = nullptr;
    }
    if ((rng.next() & 3) == 0) {
      kept = p;
      kept_n = n;
      kept_tag = tag;
    } else {
      check(p, n, tag);
      std::free(p);
    }
  }
  if (kept) {
    check(kept, kept_n, kept_tag);
    std::free(kept);
  }
  std::printf("result: large_loop iters=%ld max_mib=%ld checksum=%016llx\n", iters, max_mib,
              static_cast<unsigned long long>(bench::mix64(sum)));
  return 0;
}
