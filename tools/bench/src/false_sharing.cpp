// false_sharing - allocator-induced false sharing of cache lines.
//
// Pattern modelled: threads that each allocate a few small objects (8-64 B:
// counters, per-thread statistics, small nodes) and then write to them over
// and over (in the spirit of the cache-thrash / cache-scratch tests of Hoard).
// If the allocator places objects of different threads in the same 64-byte
// cache line, the line bounces between cores on every write and the writes
// become 10-100x slower, although the program never shares data.
// Each round has two kinds of objects per thread:
//  - active: each worker allocates its own objects at the same time as the
//    other workers;
//  - passive: the main thread allocates objects for all workers, interleaved
//    (so neighbours belong to different threads); each worker frees the ones
//    it received and allocates replacements of the same size, which an
//    allocator that recycles freed memory locally places in the same lines.
// Then every worker increments a counter in each of its objects --iters/rounds
// times, checks the counters and the block tails, and frees everything.
//
// Usage: bench_false_sharing [--threads N] [--iters WRITES_PER_OBJECT]
//                            [--rounds R] [--objects K] [--seed N] [--quick]
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "common.h"

static const char kUsage[] =
    "usage: bench_false_sharing [--threads N (2)] [--iters WRITES_PER_OBJECT (default 12000000, quick 1200000)]\n"
    "                           [--rounds R (20)] [--objects K per thread and kind (16)] [--seed N] [--quick]\n";

namespace {

class Barrier {
 public:
  explicit Barrier(long n) : n_(n) {}
  void wait() {
    std::unique_lock<std::mutex> lk(m_);
    const long gen = gen_;
    if (++count_ == n_) {
      count_ = 0;
      ++gen_;
      cv_.notify_all();
    } else {
      cv_.wait(lk, [&] { return gen_ != gen; });
    }
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  long n_, count_ = 0, gen_ = 0;
};

struct Obj {
  volatile uint64_t* p;
  size_t size;
  uint64_t tag;
};

Obj make_obj(size_t s, uint64_t tag) {
  char* p = static_cast<char*>(bench::xmalloc(s));
  bench::store64(p, tag);
  if (s >= 16) bench::store64(p + s - 8, ~tag);
  return Obj{reinterpret_cast<volatile uint64_t*>(p), s, tag};
}

}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv, kUsage);
  const long threads = args.get("threads", 2, 2);
  const long iters = args.get("iters", 12000000, 1200000);
  const long rounds = args.get("rounds", 20, 20);
  const long k = args.get("objects", 16, 16);
  const uint64_t seed = static_cast<uint64_t>(args.get("seed", 1, 1));
  args.done();
  if (threads < 1 || rounds < 1 || k < 1) bench::fail("false_sharing: threads, rounds, objects must be >= 1");
  const long writes = iters / rounds;

  // handed[t]: passive objects the main thread allocated for worker t this round.
  std::vector<std::vector<Obj>> handed(static_cast<size_t>(threads));
  std::vector<uint64_t> sums(static_cast<size_t>(threads), 0);
  Barrier start(threads + 1), done(threads + 1), go(threads);

  auto worker = [&](long t) {
    bench::Rng rng(seed * 31337u + static_cast<uint64_t>(t));
    for (long r = 0; r < rounds; ++r) {
      start.wait();
      std::vector<Obj> mine;
      mine.reserve(static_cast<size_t>(2 * k));
      // Passive: free what main gave us, allocate a replacement of the same size.
      for (Obj& o : handed[static_cast<size_t>(t)]) {
        const size_t s = o.size;
        if (o.p[0] != o.tag) bench::fail("false_sharing: handed object corrupted");
        std::free(const_cast<uint64_t*>(o.p));
        mine.push_back(make_obj(s, rng.next() & 0xFFFFFFFFFFFFull));
      }
      // Active: allocate our own objects while the other workers do the same.
      for (long i = 0; i < k; ++i) mine.push_back(make_obj(rng.log_size(8, 64), rng.next() & 0xFFFFFFFFFFFFull));
      go.wait();
      for (long w = 0; w < writes; ++w)
        for (Obj& o : mine) o.p[0] = o.p[0] + 1;
      for (Obj& o : mine) {
        const char* c = const_cast<const char*>(reinterpret_cast<volatile char*>(o.p));
        if (o.p[0] != o.tag + static_cast<uint64_t>(writes) || (o.size >= 16 && bench::load64(c + o.size - 8) != ~o.tag))
          bench::fail("false_sharing: object of %zu bytes has a wrong counter or tail", o.size);
        sums[static_cast<size_t>(t)] += bench::mix64(o.tag) + o.size;
        std::free(const_cast<uint64_t*>(o.p));
      }
      done.wait();
    }
  };

  std::vector<std::thread> pool;
  for (long t = 0; t < threads; ++t) pool.emplace_back(worker, t);
  bench::Rng rng(seed);
  for (long r = 0; r < rounds; ++r) {
    for (auto& h : handed) h.clear();
    for (long i = 0; i < k; ++i)
      for (long t = 0; t < threads; ++t)
        handed[static_cast<size_t>(t)].push_back(make_obj(rng.log_size(8, 64), 0));
    start.wait();
    done.wait();
  }
  for (auto& th : pool) th.join();

  uint64_t sum = 0;
  for (uint64_t s : sums) sum = bench::mix64(sum ^ s);
  std::printf("result: false_sharing threads=%ld rounds=%ld writes=%ld objects=%ld checksum=%016llx\n", threads, rounds,
              writes * rounds, 2 * k * threads * rounds, static_cast<unsigned long long>(sum));
  return 0;
}
