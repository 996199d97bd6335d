// Google Benchmark micro suite: each policy and the pool driven directly, inside one process (not
// through LD_PRELOAD), for developers' quick checks of a change to one component. The figures that
// compare aixmalloc with other allocators come from tools/bench/run, not from here.
//
//   build/tools/bench/aixmalloc_micro [--benchmark_filter=Watson]
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "libmalloc/base/heap_memory.h"
#include "options/pool.h"
#include "policies/three_one.h"
#include "policies/watson.h"
#include "policies/yorktown.h"

namespace {

using namespace aixmalloc;

template <class P>
struct Bench {
  HeapMemory memory{Owner::make(OwnerKind::kHeap, this)};
  P policy{&memory};
};

// malloc/free of one size, LIFO: the shortest path of each policy.
template <class P>
void PairOfOneSize(benchmark::State& state) {
  Bench<P> b;
  size_t size = static_cast<size_t>(state.range(0));
  void* keep = b.policy.allocate(64, 16);  // something allocated, so the heap is not empty
  for (auto _ : state) {
    void* p = b.policy.allocate(size, 16);
    benchmark::DoNotOptimize(p);
    b.policy.release(p);
  }
  b.policy.release(keep);
  state.SetItemsProcessed(state.iterations());
}

// A working set of random sizes (16 B - 4 KiB) replaced at random: searches, splits and merges.
template <class P>
void RandomReplace(benchmark::State& state) {
  Bench<P> b;
  std::mt19937 rng(1);
  std::vector<void*> live(4096);
  for (auto& p : live) p = b.policy.allocate(16 + rng() % 4080, 16);
  for (auto _ : state) {
    size_t i = rng() % live.size();
    b.policy.release(live[i]);
    live[i] = b.policy.allocate(16 + rng() % 4080, 16);
    benchmark::DoNotOptimize(live[i]);
  }
  for (void* p : live) b.policy.release(p);
  state.SetItemsProcessed(state.iterations());
}

// The pool's fast path as the exported malloc/free run it.
void PoolPair(benchmark::State& state) {
  static bool configured = pool::configure(0);
  if (!configured) {
    state.SkipWithError("no address space for the pool");
    return;
  }
  size_t size = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    void* p = pool::allocate(size);
    benchmark::DoNotOptimize(p);
    pool::release(p, "free");
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(PairOfOneSize<Yorktown>)->Arg(16)->Arg(256)->Arg(4000);
BENCHMARK(PairOfOneSize<Watson>)->Arg(16)->Arg(256)->Arg(4000);
BENCHMARK(PairOfOneSize<ThreeOne>)->Arg(16)->Arg(256)->Arg(4000);
BENCHMARK(RandomReplace<Yorktown>);
BENCHMARK(RandomReplace<Watson>);
BENCHMARK(RandomReplace<ThreeOne>);
BENCHMARK(PoolPair)->Arg(16)->Arg(256)->Arg(512);

}  // namespace

BENCHMARK_MAIN();
