// larson - a server whose threads allocate, hand their blocks to a successor and exit.
//
// Pattern modelled: a server that serves each connection from a thread that lives for a while,
// then passes its state on to a new thread and exits (in the spirit of the Larson & Krishnan server
// benchmark). Each of --threads chains owns a table of --slots blocks of 8 B - 1 KiB (sizes uniform,
// so odd sizes abound). A thread repeatedly picks a random slot, checks and frees its block and puts
// a new one there. After --iters replacements it starts its successor, hands it the table and
// exits; the successor frees what its dead predecessor allocated. --rounds successors follow one
// another in each chain. So the heap holds a steady set of many small, mixed-size blocks whose
// owner thread keeps dying.
//
// Blocks carry (tag, size) and a pattern checked before free; the checksum sums over every block.
//
// Usage: bench_larson [--threads CHAINS (1)] [--iters REPLACEMENTS_PER_THREAD] [--rounds R]
//                     [--slots N] [--seed N] [--quick]
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <vector>

#include "common.h"

static const char kUsage[] =
    "usage: bench_larson [--threads CHAINS (1)] [--iters REPLACEMENTS_PER_THREAD (default 200000, quick 20000)]\n"
    "                    [--rounds R (default 30, quick 10)] [--slots N (8000)] [--seed N] [--quick]\n";

namespace {

constexpr size_t kMin = 8, kMax = 1024;

struct Chain {
  void** slots;
  long nslots;
  long rounds_left;
  long iters;
  uint64_t seed;
  uint64_t asum = 0, fsum = 0, allocs = 0;
  std::atomic<bool> finished{false};
};

void* make_block(bench::Rng& rng, uint64_t* sum) {
  const size_t s = static_cast<size_t>(rng.range(kMin, kMax));
  char* p = static_cast<char*>(bench::xmalloc(s));
  if (s >= 16) {
    const uint64_t tag = rng.next() | 0xF0;  // first byte >= 16: not the size of a small block
    bench::store64(p, tag);
    bench::store64(p + 8, s);
    bench::fill_pattern(p + 16, s - 16, tag);
    *sum += bench::mix64(tag) + s;
  } else {
    std::memset(p, static_cast<int>(s), s);  // every byte is the size (8..15)
    *sum += s;
  }
  return p;
}

void check_and_free(void* v, uint64_t* sum) {
  unsigned char* p = static_cast<unsigned char*>(v);
  if (p[0] >= kMin && p[0] < 16) {
    for (unsigned i = 0; i < p[0]; ++i)
      if (p[i] != p[0]) bench::fail("larson: block %p corrupted", v);
    *sum += p[0];
  } else {
    const uint64_t tag = bench::load64(p);
    const uint64_t s = bench::load64(p + 8);
    if (s < 16 || s > kMax) bench::fail("larson: block %p has a corrupted header", v);
    if (!bench::check_pattern(p + 16, s - 16, tag)) bench::fail("larson: block %p corrupted", v);
    *sum += bench::mix64(tag) + s;
  }
  std::free(p);
}

// One thread of a chain: its replacements, then its successor, then exit.
void run_thread(Chain* c, long generation) {
  bench::Rng rng(c->seed * 1000003u + static_cast<uint64_t>(generation));
  for (long i = 0; i < c->iters; ++i) {
    void*& slot = c->slots[rng.below(static_cast<uint64_t>(c->nslots))];
    check_and_free(slot, &c->fsum);
    slot = make_block(rng, &c->asum);
    ++c->allocs;
  }
  if (--c->rounds_left > 0) {
    std::thread next(run_thread, c, generation + 1);
    next.detach();
  } else {
    c->finished.store(true, std::memory_order_release);
  }
}

}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv, kUsage);
  const long chains = args.get("threads", 1, 1);
  const long iters = args.get("iters", 200000, 20000);
  const long rounds = args.get("rounds", 30, 10);
  const long nslots = args.get("slots", 8000, 8000);
  const uint64_t seed = static_cast<uint64_t>(args.get("seed", 1, 1));
  args.done();
  if (chains < 1 || rounds < 1 || nslots < 1) bench::fail("larson: need threads, rounds and slots >= 1");

  std::vector<Chain> c(static_cast<size_t>(chains));
  for (long k = 0; k < chains; ++k) {
    Chain& ch = c[static_cast<size_t>(k)];
    ch.slots = static_cast<void**>(bench::xmalloc(sizeof(void*) * static_cast<size_t>(nslots)));
    ch.nslots = nslots;
    ch.rounds_left = rounds;
    ch.iters = iters;
    ch.seed = seed * 31u + static_cast<uint64_t>(k);
    bench::Rng rng(ch.seed);
    for (long i = 0; i < nslots; ++i) ch.slots[i] = make_block(rng, &ch.asum);
    ch.allocs = static_cast<uint64_t>(nslots);
  }
  // The first thread of each chain; each starts its successor itself. Main waits for the last.
  std::vector<std::thread> first;
  for (long k = 0; k < chains; ++k) first.emplace_back(run_thread, &c[static_cast<size_t>(k)], 0);
  for (auto& t : first) t.join();
  for (;;) {
    long finished = 0;
    for (auto& ch : c) finished += ch.finished.load(std::memory_order_acquire);
    if (finished == chains) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  uint64_t asum = 0, fsum = 0, allocs = 0;
  for (auto& ch : c) {
    for (long i = 0; i < nslots; ++i) check_and_free(ch.slots[i], &ch.fsum);
    std::free(ch.slots);
    asum += ch.asum;
    fsum += ch.fsum;
    allocs += ch.allocs;
  }
  if (asum != fsum) bench::fail("larson: the blocks freed are not the blocks allocated");
  std::printf("result: larson chains=%ld rounds=%ld blocks=%llu checksum=%016llx\n", chains, rounds,
              static_cast<unsigned long long>(allocs), static_cast<unsigned long long>(bench::mix64(asum)));
  return 0;
}
