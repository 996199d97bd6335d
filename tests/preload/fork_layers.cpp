// fork() while every layer of the allocator is in use by other threads: threads allocating and
// freeing pool sizes (512 bytes and less), thread-cache sizes (under 4096), heap sizes (4 KiB to
// 100 KiB, over every heap of multiheap) and large blocks (4 MiB and more, through the cache of
// freed ranges), half of their blocks freed by another thread. The main thread forks FORKS times;
// each child allocates, grows and frees a block in every layer, frees some blocks the parent's
// threads held at the fork, checks the contents, and exits 0 when all of that worked. With
// STATS_SIGNAL set, the main thread also sends itself that signal every 16 forks, so the live
// statistics run against the forks. Arguments: forks. Prints "forks=N failures=F".
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

namespace {

constexpr size_t kSlots = 64;

// One table of blocks per worker; the main thread reads them at fork to free a few in the child.
struct Table {
  std::atomic<void*> slot[kSlots];
};

size_t size_for(unsigned layer, unsigned r) {
  switch (layer) {
    case 0: return r % 512 + 1;                 // pool
    case 1: return 513 + r % (4095 - 513);      // thread cache
    case 2: return 4096 + r % (96 << 10);       // heaps
    default: return (4u << 20) + r % (1u << 20);  // ranges of their own
  }
}

// The child: a block in each layer, filled, grown, checked and freed.
int child_work(std::vector<Table>& tables, unsigned i) {
  int bad = 0;
  void* blocks[4];
  for (unsigned layer = 0; layer < 4; ++layer) {
    size_t size = size_for(layer, i * 7919u + layer);
    auto* p = static_cast<unsigned char*>(malloc(size));
    if (p == nullptr) {
      ++bad;
      blocks[layer] = nullptr;
      continue;
    }
    memset(p, static_cast<int>(layer + 1), size < 8192 ? size : 8192);  // (a large block: its ends)
    p[size - 1] = static_cast<unsigned char>(layer + 1);
    auto* q = static_cast<unsigned char*>(realloc(p, size + size / 2 + 16));
    if (q == nullptr) {
      ++bad;
      q = p;
    } else if (q[0] != layer + 1 || q[size - 1] != layer + 1) {
      ++bad;
    }
    blocks[layer] = q;
  }
  // Some blocks the parent's threads held at the instant of the fork (each table slot is either a
  // whole block or null: workers swap them atomically).
  for (Table& t : tables)
    for (unsigned s = i % 8; s < kSlots; s += 8) free(t.slot[s].exchange(nullptr));
  for (void* p : blocks) free(p);
  return bad;
}

}  // namespace

int main(int argc, char** argv) {
  int forks = argc > 1 ? atoi(argv[1]) : 1000;
  int stats_signal = getenv("STATS_SIGNAL") ? atoi(getenv("STATS_SIGNAL")) : 0;
  alarm(600);  // the ctest time-out and `timeout` catch a hang first; this is the last resort
  std::atomic<bool> stop{false};
  // One worker per layer, and one more for the heaps (two threads on multiheap's heaps); each puts
  // half of its blocks into the next worker's table, freeing the block it displaces there. They
  // pause briefly every few dozen requests, so that on a small machine the forks and children get
  // the processor too; they hold the allocator's locks much of the rest of the time.
  constexpr unsigned kWorkers = 5;
  std::vector<Table> tables(kWorkers);
  for (Table& t : tables)
    for (auto& s : t.slot) s.store(nullptr);
  std::vector<std::thread> threads;
  for (unsigned w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      unsigned layer = w < 4 ? w : 2, x = 1234u + w;
      Table& mine = tables[w];
      Table& other = tables[(w + 1) % kWorkers];
      while (!stop.load(std::memory_order_relaxed)) {
        x = x * 1103515245u + 12345u;
        unsigned r = x >> 8;
        size_t size = size_for(layer, r);
        auto* p = static_cast<unsigned char*>(malloc(size));
        if (p == nullptr) continue;
        p[0] = p[size - 1] = 7;
        // Half into this thread's table, half into the partner's: the partner's old block is freed
        // here, by another thread than the one that allocated it.
        Table& into = (r & 1) ? mine : other;
        // (Large blocks in 8 slots of each table only: a few dozen of them live is plenty.)
        free(into.slot[r % (layer == 3 ? 8 : kSlots)].exchange(p));
        if (r % 32 == 0) usleep(layer == 3 ? 500 : 100);
      }
    });
  }
  int failures = 0;
  for (int i = 0; i < forks; ++i) {
    if (stats_signal && i % 16 == 0) kill(getpid(), stats_signal);
    pid_t pid = fork();
    if (pid < 0) {
      perror("fork");
      ++failures;
      break;
    }
    if (pid == 0) _exit(child_work(tables, static_cast<unsigned>(i)) ? 1 : 0);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "child %d failed: status %d\n", i, status);
      ++failures;
    }
  }
  stop = true;
  for (auto& t : threads) t.join();
  for (Table& t : tables)
    for (auto& s : t.slot) free(s.exchange(nullptr));
  if (stats_signal) {  // the live statistics' document, written for this process: not left behind
    char path[64];
    snprintf(path, sizeof path, "/dev/shm/aixmalloc-stats.%d.json", static_cast<int>(getpid()));
    unlink(path);
    snprintf(path, sizeof path, "/tmp/aixmalloc-stats.%d.json", static_cast<int>(getpid()));
    unlink(path);
  }
  printf("forks=%d failures=%d\n", forks, failures);
  return failures ? 1 : 0;
}
