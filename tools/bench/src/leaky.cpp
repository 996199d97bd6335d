// leaky - a program with known leaks, for comparing leak finders (tools/bench/leak_tools).
//
// Pattern modelled: a C++ service that does ordinary work (a map of strings updated in place,
// short-lived vectors and buffers, about 20 allocations per step) and leaks in the four ways
// programs do:
//   leak_list      a linked list of 64-byte nodes (new) whose head is dropped: 100 nodes, so a
//                  checker that follows pointers sees 1 block lost directly and 99 through it;
//   leak_buffer    a 200-byte malloc every 1000 steps, never freed;
//   leak_grown     a buffer grown by realloc from 10 to 3000 bytes, then dropped (once);
//   leak_copy      strdup of a 32-character string (33 bytes, allocated inside libc) ten times.
// Each "expect:" line names a function that must be on the leak's stack, its count and its bytes;
// the checksum depends only on the arguments.
//
// Usage: bench_leaky [--iters STEPS (200000, quick 20000)] [--seed N] [--quick]
// Result: "result: leaky iters=.. checksum=.." and the expect: lines.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "common.h"

static const char kUsage[] = "usage: bench_leaky [--iters STEPS (default 200000, quick 20000)] [--seed N] [--quick]\n";

namespace {

struct Node {
  Node* next;
  char payload[56];
};

void* volatile g_sink;

__attribute__((noinline)) void leak_list() {
  Node* head = nullptr;
  for (int i = 0; i < 100; ++i) {
    Node* n = new Node;
    std::memset(n->payload, i, sizeof n->payload);
    n->next = head;
    head = n;
  }
  g_sink = head;
  g_sink = nullptr;  // the head is gone: every node with it
}

__attribute__((noinline)) void leak_buffer(uint64_t tag) {
  char* p = static_cast<char*>(std::malloc(200));
  std::memset(p, static_cast<int>(tag), 200);
  g_sink = p;
}

__attribute__((noinline)) void leak_grown() {
  size_t size = 10;
  char* p = static_cast<char*>(std::malloc(size));
  while (size < 3000) {
    size = size * 2 < 3000 ? size * 2 : 3000;
    p = static_cast<char*>(std::realloc(p, size));
    p[size - 1] = 1;
  }
  g_sink = p;
}

__attribute__((noinline)) void leak_copy() {
  g_sink = strdup("a copy nobody will ever free: 33");
}

}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv, kUsage);
  const long iters = args.get("iters", 200000, 20000);
  const uint64_t seed = static_cast<uint64_t>(args.get("seed", 1, 1));
  args.done();
  bench::Rng rng(seed);
  std::map<uint64_t, std::string> table;
  uint64_t sum = 0;
  long buffers = 0;
  leak_list();
  leak_grown();
  for (int i = 0; i < 10; ++i) leak_copy();
  for (long step = 0; step < iters; ++step) {
    uint64_t key = rng.next() % 4096;
    std::string value(16 + rng.next() % 100, static_cast<char>('a' + step % 26));
    table[key] = value;
    std::vector<uint32_t> tmp(8 + rng.next() % 64, static_cast<uint32_t>(step));
    for (uint32_t v : tmp) sum += v;
    char* buf = static_cast<char*>(std::malloc(32 + rng.next() % 480));
    buf[0] = static_cast<char>(step);
    sum += static_cast<unsigned char>(buf[0]);
    std::free(buf);
    if (step % 1000 == 999) {
      leak_buffer(static_cast<uint64_t>(step));
      ++buffers;
    }
    if (step % 512 == 0) table.erase(table.begin(), table.lower_bound(rng.next() % 4096));
  }
  for (const auto& [k, v] : table) sum += k * v.size();
  std::printf("result: leaky iters=%ld checksum=%016llx\n", iters, static_cast<unsigned long long>(sum));
  std::printf("expect: leak_list 100 6400\n");
  std::printf("expect: leak_buffer %ld %ld\n", buffers, buffers * 200);
  std::printf("expect: leak_grown 1 3000\n");
  std::printf("expect: leak_copy 10 330\n");
  return 0;
}
