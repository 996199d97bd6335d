// small_single - single-threaded small-object fast path.
//
// Pattern modelled: one thread allocating and freeing small objects
// (16-512 B, log-distributed so small sizes dominate), as an interpreter, a
// parser or container-heavy code does. Most objects are temporaries released
// in LIFO-ish order: a stack of live objects does a random walk (each step
// pushes one new object and pops 0, 1 or 2, depth <= 64). About every 256th
// step a batch of 16-128 objects is built and then released all together, in
// FIFO or in interleaved (even then odd) order, like a request dropping its
// list of nodes (about 1 malloc/free pair in 5 belongs to a batch).
//
// Every block gets a unique tag in its first 8 bytes, checked before free. Sizes and step kinds come from one table computed before the timed
// loop, and the loop is kept lean (about 15 instructions per malloc/free pair
// besides the allocator), because `run --callgrind` computes instructions per
// pair as (Ir(N steps) - Ir(0 steps)) / pairs. A NULL from malloc crashes the
// program (SIGSEGV), which run reports as a failure.
//
// Usage: bench_small_single [--iters STEPS] [--seed N] [--quick]
// Result: "result: small_single iters=.. pairs=<malloc/free pairs> checksum=.."
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common.h"

static const char kUsage[] =
    "usage: bench_small_single [--iters STEPS (default 50000000, quick 5000000)] [--seed N] [--quick]\n";

namespace {

constexpr size_t kTable = 4096;  // power of two
constexpr int kMaxDepth = 64;
constexpr int kMaxBatch = 128;
constexpr size_t kResident = 4096;
// Table entry: bits 0-9 size, bits 10-16 number of pops after the push,
// bit 17 batch step, bits 18-24 batch length - 16 (0..112 -> 16..128 blocks).
constexpr uint32_t kSizeMask = 0x3FF;
constexpr int kPopShift = 10;
constexpr uint32_t kPopMask = 0x7F;
constexpr uint32_t kBatchBit = 1u << 17;
constexpr int kBatchLenShift = 18;

struct Live {
  void* p;
  uint64_t tag;
};

[[noreturn]] __attribute__((noinline)) void corrupted(const void* p) {
  bench::fail("small_single: block %p corrupted (tag overwritten)", p);
}

inline void pop_free(Live& l, uint64_t* sum) {
  if (__builtin_expect(*static_cast<const uint64_t*>(l.p) != l.tag, 0)) corrupted(l.p);
  *sum += l.tag;
  std::free(l.p);
}


}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv, kUsage);
  const long iters = args.get("iters", 50000000, 5000000);
  const uint64_t seed = static_cast<uint64_t>(args.get("seed", 1, 1));
  args.done();

  // The table is one period of the step sequence. The stack depth is simulated
  // here, so the pop counts stored in the table already respect 0 <= depth <= 64
  // and bring the depth back to 0 at the end of the period: the timed loop
  // needs no bounds checks.
  bench::Rng rng(seed);
  std::vector<uint32_t> table(kTable);
  uint32_t sim_depth = 0;
  for (size_t i = 0; i < kTable; ++i) {
    static const uint32_t kPops[4] = {0, 1, 1, 2};  // mean 1 pop per push
    const uint64_t r = rng.next();
    uint32_t e = static_cast<uint32_t>(rng.log_size(16, 512));
    if (((r >> 8) & 255) == 0 && i + 1 < kTable) {
      e |= kBatchBit | static_cast<uint32_t>((r >> 16) % 113) << kBatchLenShift;
    } else {
      ++sim_depth;
      uint32_t pops = kPops[r & 3];
      if (sim_depth == static_cast<uint32_t>(kMaxDepth) && pops == 0) pops = 1;
      if (pops > sim_depth) pops = sim_depth;
      if (i + 1 == kTable) pops = sim_depth;
      sim_depth -= pops;
      e |= pops << kPopShift;
    }
    table[i] = e;
  }

  // Resident data: live for the whole run (as a program's long-lived objects),
  // so that the allocator's pages for these sizes never become completely empty.
  std::vector<Live> resident(kResident);
  for (size_t i = 0; i < kResident; ++i) {
    resident[i].p = std::malloc(table[(i * 13) & (kTable - 1)] & kSizeMask);
    resident[i].tag = ~static_cast<uint64_t>(i);
    *static_cast<uint64_t*>(resident[i].p) = resident[i].tag;
  }

  Live stk[kMaxDepth];
  Live* top = stk;  // next free stack slot
  Live bp[kMaxBatch];
  uint64_t batch_steps = 0, batch_pairs = 0, sum = 0;

  for (long it = 0; it < iters; ++it) {
    const uint64_t u = static_cast<uint64_t>(it);
    const uint32_t e = table[u & (kTable - 1)];
    if (__builtin_expect((e & kBatchBit) != 0, 0)) {
      // Batch: allocate n blocks, then free them in FIFO or interleaved order.
      const int n = 16 + static_cast<int>(e >> kBatchLenShift);
      const uint64_t base = u << 8;  // tags u*256 + i: unique, disjoint from the LIFO tags' pattern
      for (int i = 0; i < n; ++i) {
        void* p = std::malloc(table[(u + 7 * static_cast<uint64_t>(i)) & (kTable - 1)] & kSizeMask);
        *static_cast<uint64_t*>(p) = base + static_cast<uint64_t>(i);
        bp[i].p = p;
        bp[i].tag = base + static_cast<uint64_t>(i);
      }
      if ((u >> 12) & 1) {  // FIFO
        for (int i = 0; i < n; ++i) pop_free(bp[i], &sum);
      } else {  // evens, then odds
        for (int i = 0; i < n; i += 2) pop_free(bp[i], &sum);
        for (int i = 1; i < n; i += 2) pop_free(bp[i], &sum);
      }
      ++batch_steps;
      batch_pairs += static_cast<uint64_t>(n);
      continue;
    }
    // LIFO-ish step: push one block, pop as many as the table says (mostly 0-2).
    void* p = std::malloc(e & kSizeMask);
    *static_cast<uint64_t*>(p) = u;
    top->p = p;
    top->tag = u;
    ++top;
    for (uint32_t k = (e >> kPopShift) & kPopMask; k > 0; --k) pop_free(*--top, &sum);
  }
  while (top > stk) pop_free(*--top, &sum);
  const uint64_t pairs = static_cast<uint64_t>(iters > 0 ? iters : 0) - batch_steps + batch_pairs;
  uint64_t rsum = 0;
  for (Live& l : resident) pop_free(l, &rsum);

  std::printf("result: small_single iters=%ld pairs=%llu checksum=%016llx\n", iters,
              static_cast<unsigned long long>(pairs), static_cast<unsigned long long>(bench::mix64(sum)));
  return 0;
}
