// prodcons - producer/consumer pipeline: every free is a remote free.
//
// Pattern modelled: a pipeline stage that allocates messages in one thread
// and releases them in another (network receive thread -> worker, logger
// front-end -> writer). The producer allocates messages of 16 B - 4 KiB
// (log-distributed), fills them, groups them in batches of 1-64 (the batch
// descriptor is malloc'ed too) and pushes the batches through a bounded
// mutex/condition-variable queue (16 batches). The consumer checks every
// message, frees it and frees the batch. So all memory is freed by a thread
// that did not allocate it, and the producer keeps needing fresh memory while
// the consumer returns it: allocators must move memory between threads.
// --threads is the number of producer/consumer pairs (default 1 pair =
// 2 threads), each with its own queue.
//
// Usage: bench_prodcons [--threads PAIRS] [--iters MESSAGES_PER_PAIR] [--seed N] [--quick]
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common.h"

static const char kUsage[] =
    "usage: bench_prodcons [--threads PAIRS (1)] [--iters MESSAGES_PER_PAIR (default 3000000, quick 300000)]\n"
    "                      [--seed N] [--quick]\n";

namespace {

constexpr size_t kMin = 16, kMax = 4096;
constexpr int kBatchMax = 64;
constexpr size_t kQueueCap = 16;

struct Batch {
  int n;
  void* msg[kBatchMax];
};

class Queue {
 public:
  void push(Batch* b) {
    std::unique_lock<std::mutex> lk(m_);
    not_full_.wait(lk, [&] { return n_ < kQueueCap; });
    ring_[(head_ + n_) % kQueueCap] = b;
    ++n_;
    lk.unlock();
    not_empty_.notify_one();
  }
  Batch* pop() {
    std::unique_lock<std::mutex> lk(m_);
    not_empty_.wait(lk, [&] { return n_ > 0; });
    Batch* b = ring_[head_];
    head_ = (head_ + 1) % kQueueCap;
    --n_;
    lk.unlock();
    not_full_.notify_one();
    return b;
  }

 private:
  std::mutex m_;
  std::condition_variable not_full_, not_empty_;
  Batch* ring_[kQueueCap] = {};
  size_t head_ = 0, n_ = 0;
};

struct PairResult {
  uint64_t produced_sum = 0, consumed_sum = 0, produced = 0, consumed = 0;
};

void producer(Queue* q, long messages, uint64_t seed, PairResult* res) {
  bench::Rng rng(seed);
  long left = messages;
  while (left > 0) {
    Batch* b = static_cast<Batch*>(bench::xmalloc(sizeof(Batch)));
    b->n = static_cast<int>(rng.range(1, kBatchMax));
    if (b->n > left) b->n = static_cast<int>(left);
    for (int i = 0; i < b->n; ++i) {
      const size_t s = rng.log_size(kMin, kMax);
      const uint64_t tag = rng.next();
      char* p = static_cast<char*>(bench::xmalloc(s));
      bench::store64(p, tag);
      bench::store64(p + 8, s);
      bench::fill_pattern(p + 16, s - 16, tag);
      res->produced_sum += bench::mix64(tag) + s;
      b->msg[i] = p;
    }
    left -= b->n;
    res->produced += static_cast<uint64_t>(b->n);
    q->push(b);
  }
  q->push(nullptr);  // end marker
}

void consumer(Queue* q, PairResult* res) {
  for (;;) {
    Batch* b = q->pop();
    if (!b) break;
    for (int i = 0; i < b->n; ++i) {
      char* p = static_cast<char*>(b->msg[i]);
      const uint64_t tag = bench::load64(p);
      const uint64_t s = bench::load64(p + 8);
      if (s < kMin || s > kMax) bench::fail("prodcons: message header corrupted (size %llu)", (unsigned long long)s);
      if (!bench::check_pattern(p + 16, s - 16, tag)) bench::fail("prodcons: message of %llu bytes corrupted", (unsigned long long)s);
      res->consumed_sum += bench::mix64(tag) + s;
      std::free(p);
    }
    res->consumed += static_cast<uint64_t>(b->n);
    std::free(b);
  }
}

}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv, kUsage);
  const long pairs = args.get("threads", 1, 1);
  const long messages = args.get("iters", 3000000, 300000);
  const uint64_t seed = static_cast<uint64_t>(args.get("seed", 1, 1));
  args.done();
  if (pairs < 1) bench::fail("prodcons: --threads must be >= 1");

  std::vector<std::unique_ptr<Queue>> queues;
  std::vector<PairResult> res(static_cast<size_t>(pairs));
  std::vector<std::thread> th;
  for (long i = 0; i < pairs; ++i) queues.emplace_back(new Queue);
  for (long i = 0; i < pairs; ++i) {
    th.emplace_back(consumer, queues[i].get(), &res[i]);
    th.emplace_back(producer, queues[i].get(), messages, seed * 7919u + static_cast<uint64_t>(i), &res[i]);
  }
  for (auto& t : th) t.join();

  uint64_t total = 0, sum = 0;
  for (const PairResult& r : res) {
    if (r.produced != r.consumed || r.produced_sum != r.consumed_sum)
      bench::fail("prodcons: consumed %llu of %llu messages, or contents differ", (unsigned long long)r.consumed,
                  (unsigned long long)r.produced);
    total += r.produced;
    sum = bench::mix64(sum ^ r.produced_sum);
  }
  std::printf("result: prodcons pairs=%ld messages=%llu checksum=%016llx\n", pairs, static_cast<unsigned long long>(total),
              static_cast<unsigned long long>(sum));
  return 0;
}
