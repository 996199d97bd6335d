// phases - threads created and destroyed in phases; blocks outlive their thread and move.
//
// Pattern modelled: a program that runs its work in phases, each with a fresh set of worker threads
// (a build tool's job pool, a test runner, a request batch handled by short-lived threads). Each
// phase starts a different number of threads (1 to --threads). A worker allocates blocks of
// 16 B - 16 KiB (log-distributed), keeps a small ring of recent ones (short-lived, freed by itself),
// and puts one block in four into a shared table of survivors, replacing (and freeing) whatever was
// there: usually a block allocated by another thread, often by a thread of an earlier phase that has
// exited. So blocks survive their thread and are freed by threads that never saw it; the live
// set stays bounded (the table plus the rings) while threads come and go. An allocator that keeps
// the memory of exited threads to itself grows phase after phase.
//
// Blocks carry (tag, size) and a pattern checked before free. The checksum sums over every block
// ever allocated. Prints info: live_kib (table + rings at the end of the last phase) and
// peak_rss_kib.
//
// Usage: bench_phases [--threads MAX (4)] [--phases P] [--iters STEPS_PER_PHASE] [--slots N]
//                     [--seed N] [--quick]
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "common.h"

static const char kUsage[] =
    "usage: bench_phases [--threads MAX (4)] [--phases P (default 60, quick 8)]\n"
    "                    [--iters STEPS_PER_PHASE (default 200000, quick 30000)] [--slots N (2048)]\n"
    "                    [--seed N] [--quick]\n";

namespace {

constexpr size_t kMin = 16, kMax = 16384, kRing = 64;

struct Sums {
  std::atomic<uint64_t> alloc{0}, freed{0}, allocs{0}, frees{0};
};

void* make_block(bench::Rng& rng, uint64_t* sum) {
  const uint64_t tag = rng.next();
  const size_t s = rng.log_size(kMin, kMax);
  char* p = static_cast<char*>(bench::xmalloc(s));
  bench::store64(p, tag);
  bench::store64(p + 8, s);
  bench::fill_pattern(p + 16, s - 16, tag, s > 512 ? 64 : 8);
  *sum += bench::mix64(tag) + s;
  return p;
}

size_t check_and_free(void* v, uint64_t* sum) {
  char* p = static_cast<char*>(v);
  const uint64_t tag = bench::load64(p);
  const uint64_t s = bench::load64(p + 8);
  if (s < kMin || s > kMax) bench::fail("phases: block %p has a corrupted header", v);
  if (!bench::check_pattern(p + 16, s - 16, tag, s > 512 ? 64 : 8)) bench::fail("phases: block %p corrupted", v);
  *sum += bench::mix64(tag) + s;
  std::free(p);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv, kUsage);
  const long max_threads = args.get("threads", 4, 4);
  const long phases = args.get("phases", 60, 8);
  const long steps = args.get("iters", 200000, 30000);
  const long nslots = args.get("slots", 2048, 2048);
  const uint64_t seed = static_cast<uint64_t>(args.get("seed", 1, 1));
  args.done();
  if (max_threads < 1 || nslots < 1) bench::fail("phases: need threads >= 1 and slots >= 1");

  std::unique_ptr<std::atomic<void*>[]> slots(new std::atomic<void*>[static_cast<size_t>(nslots)]);
  for (long i = 0; i < nslots; ++i) slots[i].store(nullptr, std::memory_order_relaxed);
  Sums sums;
  for (long ph = 0; ph < phases; ++ph) {
    // 1, MAX, 2, MAX-1, ...: the number of threads changes from one phase to the next.
    const long n = (ph % 2 == 0) ? 1 + (ph / 2) % max_threads : max_threads - (ph / 2) % max_threads;
    const long per_thread = steps / n;
    std::vector<std::thread> workers;
    for (long t = 0; t < n; ++t) {
      workers.emplace_back([&, ph, t] {
        bench::Rng rng(seed * 7919u + static_cast<uint64_t>(ph * 64 + t + 1));
        void* ring[kRing] = {};
        uint64_t asum = 0, fsum = 0, allocs = 0, frees = 0;
        for (long i = 0; i < per_thread; ++i) {
          void* b = make_block(rng, &asum);
          ++allocs;
          if ((rng.next() & 3) == 0) {
            void* old = slots[rng.below(static_cast<uint64_t>(nslots))].exchange(b, std::memory_order_acq_rel);
            if (old) {
              check_and_free(old, &fsum);
              ++frees;
            }
          } else {
            void*& r = ring[i % kRing];
            if (r) {
              check_and_free(r, &fsum);
              ++frees;
            }
            r = b;
          }
        }
        // The last phase's threads leave their rings to the main thread, the others free them.
        for (void*& r : ring) {
          if (!r) continue;
          if (ph + 1 == phases) {
            void* none = nullptr;
            // park in an empty survivor slot if there is one, else free
            bool parked = false;
            for (long k = 0; k < 8 && !parked; ++k)
              parked = slots[rng.below(static_cast<uint64_t>(nslots))].compare_exchange_strong(none, r);
            if (parked) continue;
          }
          check_and_free(r, &fsum);
          ++frees;
        }
        sums.alloc += asum;
        sums.freed += fsum;
        sums.allocs += allocs;
        sums.frees += frees;
      });
    }
    for (auto& w : workers) w.join();
  }
  size_t live = 0;
  for (long i = 0; i < nslots; ++i) {
    void* p = slots[i].load(std::memory_order_relaxed);
    if (p) live += bench::load64(static_cast<char*>(p) + 8);
  }
  const long peak = bench::peak_rss_kib();
  uint64_t fsum = 0, frees = 0;
  for (long i = 0; i < nslots; ++i) {
    void* p = slots[i].exchange(nullptr);
    if (p) {
      check_and_free(p, &fsum);
      ++frees;
    }
  }
  sums.freed += fsum;
  sums.frees += frees;
  if (sums.alloc.load() != sums.freed.load() || sums.allocs.load() != sums.frees.load())
    bench::fail("phases: allocated and freed blocks differ (%llu allocs, %llu frees)",
                (unsigned long long)sums.allocs.load(), (unsigned long long)sums.frees.load());
  std::printf("result: phases threads<=%ld phases=%ld blocks=%llu checksum=%016llx\n", max_threads, phases,
              static_cast<unsigned long long>(sums.allocs.load()),
              static_cast<unsigned long long>(bench::mix64(sums.alloc.load())));
  std::printf("info: live_kib=%zu peak_rss_kib=%ld\n", live / 1024, peak);
  return 0;
}
