// 64 threads on however many cores there are, churning for a bounded time: each allocates blocks
// of random sizes (mostly small, some up to 256 KiB), fills them with a pattern of its own, swaps
// them into a shared table (so most blocks are freed by another thread), checks the pattern of the
// block it takes out and frees it; some blocks are grown with realloc first. Prints the operations
// done and the corruptions seen (the test requires none). Arguments: threads, seconds.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace {

struct Block {
  uint64_t tag;
  uint64_t size;  // bytes after this header
};

void fill(Block* b) {
  auto* bytes = reinterpret_cast<unsigned char*>(b + 1);
  for (uint64_t i = 0; i < b->size; i += 61) bytes[i] = static_cast<unsigned char>(b->tag + i);
}
bool intact(const Block* b) {
  auto* bytes = reinterpret_cast<const unsigned char*>(b + 1);
  for (uint64_t i = 0; i < b->size; i += 61)
    if (bytes[i] != static_cast<unsigned char>(b->tag + i)) return false;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 64;
  double seconds = argc > 2 ? atof(argv[2]) : 3.0;
  constexpr size_t kSlots = 4096;
  std::vector<std::atomic<Block*>> slots(kSlots);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> ops{0}, corrupt{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      uint64_t x = 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(t + 1), n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t size = (x % 100 < 90) ? x % 600 : (x % 100 < 99 ? x % 8192 : x % (256 << 10));
        auto* b = static_cast<Block*>(malloc(sizeof(Block) + size));
        b->tag = x;
        b->size = size;
        fill(b);
        if (x % 16 == 0) {  // grow it, contents kept
          auto* g = static_cast<Block*>(realloc(b, sizeof(Block) + size * 2 + 1));
          if (!intact(g)) corrupt.fetch_add(1);
          g->size = size * 2 + 1;
          fill(g);
          b = g;
        }
        Block* old = slots[(x >> 20) % kSlots].exchange(b);
        if (old) {
          if (!intact(old)) corrupt.fetch_add(1);
          free(old);
        }
        ++n;
      }
      ops.fetch_add(n);
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : pool) th.join();
  for (auto& s : slots) {
    Block* b = s.load();
    if (b && !intact(b)) corrupt.fetch_add(1);
    free(b);
  }
  printf("threads=%d ops=%llu corrupt=%llu\n", threads, static_cast<unsigned long long>(ops.load()),
         static_cast<unsigned long long>(corrupt.load()));
  return corrupt.load() ? 1 : 0;
}
