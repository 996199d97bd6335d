// xfree_wide - blocks of 8 B - 16 KiB allocated by one thread and freed by another, in a ring.
//
// Pattern modelled: worker threads that pass requests, buffers and results to each other (a
// pipeline whose stages all allocate, an actor system, a thread pool whose tasks are freed by the
// thread that finishes them). Each of --threads threads allocates blocks of 8 B to 16 KiB
// (log-distributed, so small and page-sized blocks alike), fills them, and sends them in batches of
// 32 to the next thread of the ring, which checks and frees them. Every thread is producer and
// consumer at once, so every free is a remote free, over the whole size range, and each thread's
// memory keeps flowing to its neighbour. A thread has at most 8 batches on their way at a time.
//
// Blocks carry (tag, size) and a pattern checked before free; the checksum sums over every block.
//
// Usage: bench_xfree_wide [--threads N (4)] [--iters BLOCKS_PER_THREAD] [--seed N] [--quick]
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include "common.h"

static const char kUsage[] =
    "usage: bench_xfree_wide [--threads N (4)] [--iters BLOCKS_PER_THREAD (default 1000000, quick 100000)]\n"
    "                        [--seed N] [--quick]\n";

namespace {

constexpr size_t kMin = 8, kMax = 16384;
constexpr int kBatch = 32;
constexpr size_t kCap = 8;

struct Batch {
  Batch* next;
  void* b[kBatch];
};

struct Inbox {
  Batch* head = nullptr;
  Batch* tail = nullptr;
  long in_flight = 0;  // batches this thread sent that the next one has not freed yet
};

std::mutex g_mu;
std::condition_variable g_cv;

uint64_t g_sum_alloc = 0, g_sum_free = 0;

void* make_block(bench::Rng& rng, uint64_t* sum) {
  const uint64_t tag = rng.next() | 0xF0;  // first byte >= 16: not the size of a small block
  const size_t s = rng.log_size(kMin, kMax);
  char* p = static_cast<char*>(bench::xmalloc(s));
  if (s >= 16) {
    bench::store64(p, tag);
    bench::store64(p + 8, s);
    bench::fill_pattern(p + 16, s - 16, tag, s > 512 ? 64 : 8);
  } else {
    std::memset(p, static_cast<int>(s), s);  // too small for a header: every byte is the size (8-15)
  }
  *sum += s >= 16 ? bench::mix64(tag) + s : s;
  return p;
}

void check_and_free(void* v, uint64_t* sum) {
  char* p = static_cast<char*>(v);
  const unsigned char first = static_cast<unsigned char>(p[0]);
  // A block of 8..15 bytes holds its size in every byte; a larger one starts with a tag whose first
  // byte is 0xF0 or more, followed by its size.
  const uint64_t s16 = first >= 8 && first < 16 ? 0 : bench::load64(p + 8);
  if (s16 >= 16 && s16 <= kMax) {
    const uint64_t tag = bench::load64(p);
    if (!bench::check_pattern(p + 16, s16 - 16, tag, s16 > 512 ? 64 : 8)) bench::fail("xfree_wide: block %p corrupted", v);
    *sum += bench::mix64(tag) + s16;
  } else if (first >= 8 && first < 16) {
    for (unsigned i = 0; i < first; ++i)
      if (static_cast<unsigned char>(p[i]) != first) bench::fail("xfree_wide: block %p corrupted", v);
    *sum += first;
  } else {
    bench::fail("xfree_wide: block %p has a corrupted header", v);
  }
  std::free(p);
}

}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv, kUsage);
  const long threads = args.get("threads", 4, 4);
  const long iters = args.get("iters", 1000000, 100000);
  const uint64_t seed = static_cast<uint64_t>(args.get("seed", 1, 1));
  args.done();
  if (threads < 2) bench::fail("xfree_wide: need --threads >= 2");
  const long batches = iters / kBatch;

  std::vector<Inbox> inbox(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  for (long t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      bench::Rng rng(seed * 104729u + static_cast<uint64_t>(t + 1));
      Inbox& mine = inbox[static_cast<size_t>(t)];
      Inbox& next = inbox[static_cast<size_t>((t + 1) % threads)];
      Inbox& prev = inbox[static_cast<size_t>((t + threads - 1) % threads)];
      uint64_t asum = 0, fsum = 0;
      long sent = 0, received = 0;
      // Take what came in first; send when fewer than kCap of our batches are still on their way.
      // (When every thread waits, every inbox is empty, so nothing is in flight: no deadlock.)
      while (sent < batches || received < batches) {
        Batch* in = nullptr;
        {
          std::unique_lock<std::mutex> lk(g_mu);
          g_cv.wait(lk, [&] { return mine.head != nullptr || (sent < batches && mine.in_flight < long(kCap)); });
          if (mine.head) {
            in = mine.head;
            mine.head = in->next;
            if (!mine.head) mine.tail = nullptr;
            ++received;
          } else {
            ++mine.in_flight;
          }
        }
        if (in) {
          for (int i = 0; i < kBatch; ++i) check_and_free(in->b[i], &fsum);
          std::free(in);
          {
            std::lock_guard<std::mutex> lk(g_mu);
            --prev.in_flight;
          }
          g_cv.notify_all();
          continue;
        }
        Batch* out = static_cast<Batch*>(bench::xmalloc(sizeof(Batch)));
        out->next = nullptr;
        for (int i = 0; i < kBatch; ++i) out->b[i] = make_block(rng, &asum);
        {
          std::lock_guard<std::mutex> lk(g_mu);
          if (next.tail) next.tail->next = out; else next.head = out;
          next.tail = out;
          ++sent;
        }
        g_cv.notify_all();
      }
      std::lock_guard<std::mutex> lk(g_mu);
      g_sum_alloc += asum;
      g_sum_free += fsum;
    });
  }
  for (auto& th : pool) th.join();
  if (g_sum_alloc != g_sum_free) bench::fail("xfree_wide: the blocks freed are not the blocks allocated");
  std::printf("result: xfree_wide threads=%ld blocks=%ld checksum=%016llx\n", threads, batches * kBatch * threads,
              static_cast<unsigned long long>(bench::mix64(g_sum_alloc)));
  std::printf("info: peak_rss_kib=%ld\n", bench::peak_rss_kib());
  return 0;
}
