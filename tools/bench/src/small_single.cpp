// small_single - single-threaded small-object fast path.
//
// Pattern modelled: one thread allocating and freeing small objects
// (16-512 B, log-distributed so small sizes dominate), as an interpreter, a
// parser or container-heavy code does. Most objects are temporaries released
// in LIFO-ish order: a stack of live objects does a random walk (each step
// pushes one new object and pops 0, 1 or 2, depth <= 64). About every 64th
// step a batch of 16-256 objects is built and then released all together, in
// FIFO or in interleaved (even then odd) order, like a request dropping its
// list of nodes.
//
// Every block gets a tag in its first and last 8 bytes, checked before free.
// Sizes and step kinds come from tables computed before the timed loop, so the
// loop itself costs only a few instructions besides malloc/free; that is what
// `run --callgrind` relies on (instructions per pair = (Ir(N) - Ir(0)) / pairs).
//
// Usage: bench_small_single [--iters STEPS] [--seed N] [--quick]
// Result: "result: small_single iters=.. pairs=<malloc/free pairs> checksum=.."
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common.h"

using bench::load64;
using bench::store64;

static const char kUsage[] =
    "usage: bench_small_single [--iters STEPS (default 25000000, quick 2500000)] [--seed N] [--quick]\n";

namespace {

constexpr size_t kTable = 4096;  // power of two
constexpr int kMaxDepth = 64;
constexpr int kMaxBatch = 256;

inline void mark(void* p, size_t s, uint64_t tag) {
  char* c = static_cast<char*>(p);
  store64(c, tag);
  store64(c + s - 8, ~tag);
}

inline void check_free(void* p, size_t s, uint64_t tag) {
  const char* c = static_cast<const char*>(p);
  if (load64(c) != tag || load64(c + s - 8) != ~tag)
    bench::fail("small_single: block %p (size %zu) corrupted", p, s);
  std::free(p);
}

}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv, kUsage);
  const long iters = args.get("iters", 25000000, 2500000);
  const uint64_t seed = static_cast<uint64_t>(args.get("seed", 1, 1));
  args.done();

  // Tables: sizes (16..512, log-distributed) and step kinds.
  bench::Rng rng(seed);
  std::vector<uint32_t> sizes(kTable);
  std::vector<uint8_t> ops(kTable);
  for (size_t i = 0; i < kTable; ++i) {
    sizes[i] = static_cast<uint32_t>(rng.log_size(16, 512));
    uint64_t r = rng.next();
    static const uint8_t kPops[4] = {0, 1, 1, 2};  // mean 1 pop per push
    uint8_t op = kPops[r & 3];
    if (((r >> 8) & 63) == 0) op |= 0x80;  // batch step
    ops[i] = op;
  }

  void* stk[kMaxDepth];
  uint64_t stag[kMaxDepth];
  uint32_t ssz[kMaxDepth];
  int depth = 0;
  void* bp[kMaxBatch];
  uint32_t bsz[kMaxBatch];
  uint64_t pairs = 0, sum = 0;

  for (long it = 0; it < iters; ++it) {
    const uint64_t u = static_cast<uint64_t>(it);
    const uint8_t op = ops[(u * 5 + 3) & (kTable - 1)];
    if (op & 0x80) {
      // Batch: allocate n blocks, then free them in FIFO or interleaved order.
      const int n = 16 + static_cast<int>(sizes[(u + 1) & (kTable - 1)] % 241);
      for (int i = 0; i < n; ++i) {
        const uint32_t s = sizes[(u + 7 * static_cast<uint64_t>(i)) & (kTable - 1)];
        void* p = bench::xmalloc(s);
        mark(p, s, u ^ static_cast<uint64_t>(i) << 40);
        bp[i] = p;
        bsz[i] = s;
      }
      if ((u >> 6) & 1) {
        for (int i = 0; i < n; ++i) check_free(bp[i], bsz[i], u ^ static_cast<uint64_t>(i) << 40);
      } else {
        for (int i = 0; i < n; i += 2) check_free(bp[i], bsz[i], u ^ static_cast<uint64_t>(i) << 40);
        for (int i = 1; i < n; i += 2) check_free(bp[i], bsz[i], u ^ static_cast<uint64_t>(i) << 40);
      }
      for (int i = 0; i < n; ++i) sum += bsz[i] * static_cast<uint64_t>(i + 1);
      pairs += static_cast<uint64_t>(n);
      continue;
    }
    // LIFO-ish step: push one block, pop 0..2.
    if (depth == kMaxDepth) {
      --depth;
      check_free(stk[depth], ssz[depth], stag[depth]);
      sum += stag[depth];
    }
    const uint32_t s = sizes[u & (kTable - 1)];
    void* p = bench::xmalloc(s);
    const uint64_t tag = u * 0x9E3779B97F4A7C15ull ^ s;
    mark(p, s, tag);
    stk[depth] = p;
    stag[depth] = tag;
    ssz[depth] = s;
    ++depth;
    ++pairs;
    for (int k = op & 3; k > 0 && depth > 0; --k) {
      --depth;
      check_free(stk[depth], ssz[depth], stag[depth]);
      sum += stag[depth];
    }
  }
  while (depth > 0) {
    --depth;
    check_free(stk[depth], ssz[depth], stag[depth]);
    sum += stag[depth];
  }

  std::printf("result: small_single iters=%ld pairs=%llu checksum=%016llx\n", iters,
              static_cast<unsigned long long>(pairs), static_cast<unsigned long long>(bench::mix64(sum)));
  return 0;
}
