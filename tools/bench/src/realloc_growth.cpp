// realloc_growth - buffers that grow by appending through realloc.
//
// Pattern modelled: string builders, log/output buffers and dynamic arrays
// written in C style. In each round many buffers grow at the same time (so a
// buffer usually cannot simply be extended into the free space behind it):
//  - 96 strings grow by appending 1-64 bytes at a time, realloc'ed to the
//    exact new length every time (naive strcat-style code), up to
//    64 B - 64 KiB;
//  - 96 vectors of 64-bit elements grow one element at a time with capacity
//    x1.5 growth (amortised realloc), up to 16 - 128 Ki elements (1 MiB);
//  - 96 arrays of 32-bit elements realloc'ed by one element each time, up to
//    16 - 4096 elements.
// Each step appends to a randomly chosen unfinished buffer. At the end of a
// round, every buffer's full content is checked, strings are shrunk to half
// their length with realloc and their prefix checked again, and all is freed.
//
// Usage: bench_realloc_growth [--iters ROUNDS] [--seed N] [--quick]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common.h"

static const char kUsage[] =
    "usage: bench_realloc_growth [--iters ROUNDS (default 20, quick 2)] [--buffers N per kind (96)]\n"
    "                            [--seed N] [--quick]\n";

namespace {

enum Kind { kString, kVector, kNaive };

struct Buf {
  Kind kind;
  uint64_t id;
  size_t len = 0;     // bytes for strings, elements otherwise
  size_t cap = 0;     // elements, vectors only
  size_t target = 0;  // final len
  void* p = nullptr;
};

inline unsigned char str_byte(uint64_t id, size_t k) { return static_cast<unsigned char>((id * 131u + k * 7u) ^ (k >> 8)); }
inline uint64_t vec_elem(uint64_t id, size_t k) { return bench::mix64(id) + k; }
inline uint32_t naive_elem(uint64_t id, size_t k) { return static_cast<uint32_t>(id * 2654435761u + k); }

// Appends one chunk/element to b. Returns true when b reached its target.
bool append(Buf& b, bench::Rng& rng) {
  switch (b.kind) {
    case kString: {
      size_t add = static_cast<size_t>(rng.range(1, 64));
      if (b.len + add > b.target) add = b.target - b.len;
      b.p = bench::xrealloc(b.p, b.len + add);
      unsigned char* c = static_cast<unsigned char*>(b.p);
      for (size_t k = b.len; k < b.len + add; ++k) c[k] = str_byte(b.id, k);
      b.len += add;
      break;
    }
    case kVector: {
      if (b.len == b.cap) {
        b.cap = b.cap < 4 ? 4 : b.cap + b.cap / 2;
        b.p = bench::xrealloc(b.p, b.cap * sizeof(uint64_t));
      }
      static_cast<uint64_t*>(b.p)[b.len] = vec_elem(b.id, b.len);
      ++b.len;
      break;
    }
    case kNaive: {
      b.p = bench::xrealloc(b.p, (b.len + 1) * sizeof(uint32_t));
      static_cast<uint32_t*>(b.p)[b.len] = naive_elem(b.id, b.len);
      ++b.len;
      break;
    }
  }
  return b.len >= b.target;
}

uint64_t check_and_free(Buf& b) {
  uint64_t h = bench::mix64(b.id) ^ b.len;
  switch (b.kind) {
    case kString: {
      const unsigned char* c = static_cast<const unsigned char*>(b.p);
      for (size_t k = 0; k < b.len; ++k)
        if (c[k] != str_byte(b.id, k)) bench::fail("realloc_growth: string byte %zu of %zu wrong", k, b.len);
      const size_t half = b.len / 2 + 1;  // shrink in place (or move) and check the prefix again
      b.p = bench::xrealloc(b.p, half);
      c = static_cast<const unsigned char*>(b.p);
      for (size_t k = 0; k < half; ++k)
        if (c[k] != str_byte(b.id, k)) bench::fail("realloc_growth: shrunk string byte %zu wrong", k);
      h += c[half - 1];
      break;
    }
    case kVector: {
      const uint64_t* v = static_cast<const uint64_t*>(b.p);
      for (size_t k = 0; k < b.len; ++k)
        if (v[k] != vec_elem(b.id, k)) bench::fail("realloc_growth: vector element %zu of %zu wrong", k, b.len);
      h += v[b.len - 1];
      break;
    }
    case kNaive: {
      const uint32_t* v = static_cast<const uint32_t*>(b.p);
      for (size_t k = 0; k < b.len; ++k)
        if (v[k] != naive_elem(b.id, k)) bench::fail("realloc_growth: array element %zu of %zu wrong", k, b.len);
      h += v[b.len - 1];
      break;
    }
  }
  std::free(b.p);
  b.p = nullptr;
  return bench::mix64(h);
}

}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv, kUsage);
  const long rounds = args.get("iters", 20, 2);
  const long nbuf = args.get("buffers", 96, 96);
  const uint64_t seed = static_cast<uint64_t>(args.get("seed", 1, 1));
  args.done();
  if (nbuf < 1) bench::fail("realloc_growth: --buffers must be >= 1");

  bench::Rng rng(seed);
  uint64_t sum = 0, reallocs = 0;
  for (long r = 0; r < rounds; ++r) {
    std::vector<Buf> bufs;
    for (int kind = 0; kind < 3; ++kind)
      for (long i = 0; i < nbuf; ++i) {
        Buf b;
        b.kind = static_cast<Kind>(kind);
        b.id = static_cast<uint64_t>(r) * 1000003u + static_cast<uint64_t>(kind) * 10007u + static_cast<uint64_t>(i);
        b.target = kind == kString ? rng.log_size(64, 64 << 10) : kind == kVector ? rng.log_size(16, 128 << 10) : rng.log_size(16, 4096);
        bufs.push_back(b);
      }
    std::vector<size_t> active;
    for (size_t i = 0; i < bufs.size(); ++i) active.push_back(i);
    while (!active.empty()) {
      const size_t a = static_cast<size_t>(rng.below(active.size()));
      ++reallocs;
      if (append(bufs[active[a]], rng)) {
        active[a] = active.back();
        active.pop_back();
      }
    }
    for (Buf& b : bufs) sum += check_and_free(b);
  }
  std::printf("result: realloc_growth rounds=%ld appends=%llu checksum=%016llx\n", rounds,
              static_cast<unsigned long long>(reallocs), static_cast<unsigned long long>(bench::mix64(sum)));
  return 0;
}
