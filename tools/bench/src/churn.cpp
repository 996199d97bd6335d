// churn - Larson-style server churn with cross-thread frees.
//
// Pattern modelled: a multi-threaded server that keeps replacing
// per-connection/per-request objects (in the spirit of the Larson & Krishnan
// server benchmark). A shared table of slots holds live blocks of 16 B - 1 KiB
// (log-distributed). Each worker thread repeatedly allocates a new block,
// fills it, swaps it into a random slot (atomic exchange) and checks and frees
// the block it took out. A thread mostly works in its own part of the table,
// but 1 replacement in 8 picks a slot anywhere, so the block it frees was
// often allocated by another thread (remote free). The run is split into
// rounds; at each round the worker threads exit and new ones are started on
// rotated table parts, so blocks allocated by dead threads are freed by new
// ones (thread-cache hand-over, as in Larson). The main thread fills the table
// first, so the first replacements free memory of the main thread.
//
// Blocks carry a header (tag, size) and a pattern derived from the tag;
// everything freed is checked. The checksum is the sum over all blocks ever
// allocated, which does not depend on thread interleaving.
//
// Usage: bench_churn [--threads N] [--iters TOTAL_REPLACEMENTS] [--rounds R]
//                    [--slots N] [--seed N] [--quick]
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include "common.h"

static const char kUsage[] =
    "usage: bench_churn [--threads N (2)] [--iters TOTAL_REPLACEMENTS (default 8000000, quick 400000)]\n"
    "                   [--rounds R (4)] [--slots N (16384)] [--seed N] [--quick]\n";

namespace {

constexpr size_t kMin = 16, kMax = 1024;

struct Totals {
  std::atomic<uint64_t> alloc_sum{0}, free_sum{0}, allocs{0}, frees{0};
};

void* make_block(bench::Rng& rng, uint64_t tag, uint64_t* sum) {
  const size_t s = rng.log_size(kMin, kMax);
  char* p = static_cast<char*>(bench::xmalloc(s));
  bench::store64(p, tag);
  bench::store64(p + 8, s);
  bench::fill_pattern(p + 16, s - 16, tag);
  *sum += bench::mix64(tag) + s;
  return p;
}

void check_and_free(void* v, uint64_t* sum) {
  char* p = static_cast<char*>(v);
  const uint64_t tag = bench::load64(p);
  const uint64_t s = bench::load64(p + 8);
  if (s < kMin || s > kMax) bench::fail("churn: block %p has a corrupted header (size %llu)", v, (unsigned long long)s);
  if (!bench::check_pattern(p + 16, s - 16, tag)) bench::fail("churn: block %p (size %llu) corrupted", v, (unsigned long long)s);
  *sum += bench::mix64(tag) + s;
  std::free(p);
}

}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv, kUsage);
  const long threads = args.get("threads", 2, 2);
  const long iters = args.get("iters", 8000000, 400000);
  const long rounds = args.get("rounds", 4, 4);
  const long nslots = args.get("slots", 16384, 16384);
  const uint64_t seed = static_cast<uint64_t>(args.get("seed", 1, 1));
  args.done();
  if (threads < 1 || rounds < 1 || nslots < threads) bench::fail("churn: need threads >= 1, rounds >= 1, slots >= threads");

  std::unique_ptr<std::atomic<void*>[]> slots(new std::atomic<void*>[static_cast<size_t>(nslots)]);
  Totals tot;
  {
    bench::Rng rng(seed);
    uint64_t asum = 0;
    for (long i = 0; i < nslots; ++i) slots[i].store(make_block(rng, rng.next(), &asum), std::memory_order_relaxed);
    tot.alloc_sum += asum;
    tot.allocs += static_cast<uint64_t>(nslots);
  }

  const long per_thread = iters / (threads * rounds);
  const uint64_t part = static_cast<uint64_t>(nslots / threads);
  for (long r = 0; r < rounds; ++r) {
    std::vector<std::thread> pool;
    for (long t = 0; t < threads; ++t) {
      pool.emplace_back([&, r, t] {
        bench::Rng rng(seed * 1000003u + static_cast<uint64_t>(r * 1009 + t + 1));
        const uint64_t lo = static_cast<uint64_t>((t + r) % threads) * part;
        uint64_t asum = 0, fsum = 0, frees = 0;
        for (long i = 0; i < per_thread; ++i) {
          const uint64_t x = rng.next();
          const uint64_t idx = (x & 7) == 0 ? (x >> 8) % static_cast<uint64_t>(nslots) : lo + (x >> 8) % part;
          void* nb = make_block(rng, rng.next(), &asum);
          void* old = slots[idx].exchange(nb, std::memory_order_acq_rel);
          if (old) {
            check_and_free(old, &fsum);
            ++frees;
          }
        }
        tot.alloc_sum += asum;
        tot.free_sum += fsum;
        tot.allocs += static_cast<uint64_t>(per_thread);
        tot.frees += frees;
      });
    }
    for (auto& th : pool) th.join();
  }
  uint64_t fsum = 0;
  for (long i = 0; i < nslots; ++i) {
    void* p = slots[i].exchange(nullptr);
    if (p) {
      check_and_free(p, &fsum);
      tot.frees += 1;
    }
  }
  tot.free_sum += fsum;
  if (tot.alloc_sum.load() != tot.free_sum.load() || tot.allocs.load() != tot.frees.load())
    bench::fail("churn: allocated and freed blocks differ (%llu allocs, %llu frees)",
                (unsigned long long)tot.allocs.load(), (unsigned long long)tot.frees.load());
  std::printf("result: churn threads=%ld rounds=%ld blocks=%llu checksum=%016llx\n", threads, rounds,
              static_cast<unsigned long long>(tot.allocs.load()),
              static_cast<unsigned long long>(bench::mix64(tot.alloc_sum.load())));
  return 0;
}
