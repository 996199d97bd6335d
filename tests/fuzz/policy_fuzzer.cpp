// libFuzzer target for the back-end policies: the input is a sequence of operations (allocate with
// a size and an alignment, release, reallocate), run on a fresh heap of each of Yorktown, Watson and
// ThreeOne through PolicyHarness, with check() after every step. Every block holds its own pattern,
// verified before it is released or resized and at the end; no two live blocks overlap; every live
// block is aligned, big enough and seen as in use. Requests stay within what the runtime passes a
// policy: sizes below kLargeThreshold, alignments powers of two from 16 to 1 MiB.
//
//   input:  | header | op | op | ...                          (missing bytes read as 0)
//   header: bit 0: 4 MiB segments (the smallest reservation), so that heaps span several segments
//   op:     kind byte, then by kind (kind % 4):
//             0, 1  allocate:   size spec, alignment byte
//             2     release:    index byte (of the live blocks, modulo their number)
//             3     reallocate: index byte, size spec
//   size spec: class byte c, then c % 8: 0-2 one byte | 3-5 two bytes (little-endian) |
//              6 three bytes modulo 4 MiB | 7 one byte indexing sizes at class boundaries
//   alignment byte a: a < 192 is 16, otherwise 16 << ((a - 192) % 17)
//
// To keep fuzzing while a crash is known: POLICY_FUZZER_POLICIES=watson,3.1_64BIT (names as in
// kName) runs only those policies; POLICY_FUZZER_SMALL_SEGMENTS=0 ignores the header bit.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include "libmalloc/base/platform.h"
#include "policies/three_one.h"
#include "policies/watson.h"
#include "policies/yorktown.h"
#include "tests/unit/harness.h"

using namespace aixmalloc;
using namespace aixmalloc::testing;

namespace {

constexpr size_t kMaxOps = 4096;
constexpr size_t kMaxLiveBytes = size_t{32} << 20;   // keeps RSS and run time bounded:
constexpr size_t kMaxTotalBytes = size_t{64} << 20;  // past these, allocations are skipped
constexpr size_t kMaxLive = 4096;

enum Kind : uint8_t { kAllocate, kRelease, kReallocate };
struct Op {
  Kind kind;
  size_t size = 0;
  size_t align = 16;
  unsigned index = 0;
};

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  bool done() const { return p_ >= end_; }
  unsigned byte() { return p_ < end_ ? *p_++ : 0; }
  // Little-endian, `n` bytes (the order of the reads is fixed, unlike in `byte() | byte() << 8`).
  size_t bytes(unsigned n) {
    size_t v = 0;
    for (unsigned i = 0; i < n; ++i) v |= size_t{byte()} << (8 * i);
    return v;
  }
  size_t size_spec() {
    // Sizes at and around every boundary the policies care about: the 16-byte granule, Watson's
    // classes and small limit, 3.1's powers of two, pages, granules, the large-block threshold.
    static const size_t kEdges[] = {0,     1,     8,     15,    16,    17,    24,    31,    32,
                                    33,    48,    64,    100,   112,   128,   240,   256,   496,
                                    497,   512,   513,   528,   1008,  1024,  2032,  2048,  4064,
                                    4080,  4096,  4097,  8176,  8192,  16384, 32768, 65504, 65520,
                                    65536, 65537, 131072, 262144, 1048560, 1048576, 2097152,
                                    kLargeThreshold - 4096, kLargeThreshold - 17, kLargeThreshold - 1};
    unsigned c = byte();
    switch (c % 8) {
      case 0:
      case 1:
      case 2:
        return byte();
      case 3:
      case 4:
      case 5:
        return bytes(2);
      case 6:
        return bytes(3) % kLargeThreshold;
      default:
        return kEdges[byte() % (sizeof(kEdges) / sizeof(kEdges[0]))];
    }
  }
  size_t align() {
    unsigned a = byte();
    return a < 192 ? 16 : size_t{16} << ((a - 192) % 17);
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

struct Live {
  void* p;
  size_t size;
  uint64_t seed;
};

// The pattern of harness.h, written in full for blocks up to 1 KiB; in bigger ones the first and
// last 256 bytes and 16 bytes at every 4 KiB step in between. A policy's stray write lands at a
// block boundary (its headers and hooks sit there), and the overlap check catches the rest: filling
// and checking every byte of megabytes under ASan would cost most of the fuzzer's time.
template <class F>
void sampled(size_t n, F f) {
  constexpr size_t kFull = 1024, kEdge = 256, kStep = 4096, kSample = 16;
  if (n <= kFull) return f(0, n);
  f(0, kEdge);
  for (size_t at = kEdge; at < n - kEdge; at += kStep) f(at, kSample);
  f(n - kEdge, kEdge);
}
void fill_sampled(void* p, size_t n, uint64_t seed) {
  auto* b = static_cast<unsigned char*>(p);
  sampled(n, [&](size_t from, size_t len) {
    for (size_t i = from; i < from + len; ++i) b[i] = pattern_byte(seed, i);
  });
}
// Of the bytes fill_sampled(p, n, seed) wrote, the first below `upto` that differs, or n.
size_t first_mismatch_sampled(const void* p, size_t n, uint64_t seed, size_t upto) {
  auto* b = static_cast<const unsigned char*>(p);
  size_t found = n;
  sampled(n, [&](size_t from, size_t len) {
    for (size_t i = from; i < from + len && i < upto && found == n; ++i)
      if (b[i] != pattern_byte(seed, i)) found = i;
  });
  return found;
}

template <class P>
class Run {
 public:
  explicit Run(const std::vector<Op>& ops) : ops_(ops) {}

  void go() {
    for (step_ = 0; step_ < ops_.size(); ++step_) {
      const Op& op = ops_[step_];
      if (op.kind == kAllocate && live_.size() < kMaxLive && live_bytes_ + op.size <= kMaxLiveBytes &&
          total_bytes_ + op.size <= kMaxTotalBytes) {
        allocate(op.size, op.align);
      } else if (!live_.empty() && op.kind == kReallocate && live_bytes_ + op.size <= kMaxLiveBytes &&
                 total_bytes_ + op.size <= kMaxTotalBytes) {
        reallocate(op.index % live_.size(), op.size);
      } else if (!live_.empty()) {
        release(op.index % live_.size());
      }
      check();
      if (step_ % 32 == 31 && live_bytes_ <= (size_t{256} << 10))
        for (const Live& b : live_) verify(b, "periodic check");
    }
    step_ = ops_.size();
    while (!live_.empty()) release(live_.size() - 1);
    check();
    if constexpr (P::kCoalescing) {
      // Everything freed: every committed byte is free but each segment's record and fence.
      size_t overhead = 0;
      for (const Segment* s = h_.memory.segments(); s; s = s->next)
        overhead += s->first_block() - s->base + P::kMinBlock;
      if (h_.memory.given() - h_.policy.free_bytes() != overhead)
        fail("after every block is freed, given - free is not the segments' overhead");
    }
  }

 private:
  [[noreturn]] void fail(const char* what, const void* p = nullptr) {
    fprintf(stderr, "policy_fuzzer: %s, step %zu of %zu: %s", P::kName, step_, ops_.size(), what);
    if (p) fprintf(stderr, " (block %p)", p);
    fprintf(stderr, "\n  %zu live blocks, %zu live bytes, given to the policy %zu, free %zu\n", live_.size(),
            live_bytes_, h_.memory.given(), h_.policy.free_bytes());
    abort();
  }

  void check() {
    TextBuf<256> why;
    if (!h_.policy.check(&why)) {
      fprintf(stderr, "policy_fuzzer: check() says: %s\n", why.c_str());
      fail("check() failed");
    }
  }

  void verify(const Live& b, const char* when) {
    if (h_.policy.state(b.p) != BlockState::kInUse) fail("a live block is not seen as in use", b.p);
    size_t at = first_mismatch_sampled(b.p, b.size, b.seed, b.size);
    if (at != b.size) {
      fprintf(stderr, "policy_fuzzer: %s: byte %zu of %zu differs\n", when, at, b.size);
      fail("block contents damaged", b.p);
    }
  }

  // A new block: aligned, big enough, clear of every other live block; then filled.
  void add(void* p, size_t size, size_t align) {
    auto a = reinterpret_cast<uintptr_t>(p);
    if (a % align != 0) fail("misaligned block", p);
    size_t usable = h_.policy.usable_size(p);
    if (usable < size) fail("usable size below the request", p);
    auto next = ranges_.lower_bound(a);
    if (next != ranges_.end() && a + usable > next->first) fail("overlaps the next live block", p);
    if (next != ranges_.begin() && std::prev(next)->first + std::prev(next)->second > a)
      fail("overlaps the previous live block", p);
    ranges_[a] = usable;
    live_.push_back({p, size, ++seed_});
    live_bytes_ += size;
    total_bytes_ += size;
    fill_sampled(p, size, live_.back().seed);
  }

  void remove_live(size_t i) {
    ranges_.erase(reinterpret_cast<uintptr_t>(live_[i].p));
    live_bytes_ -= live_[i].size;
    live_[i] = live_.back();
    live_.pop_back();
  }

  void allocate(size_t size, size_t align) {
    void* p = h_.alloc(size, align);
    // Far below any memory limit: a refusal is the policy's, not the system's.
    if (p == nullptr) {
      fprintf(stderr, "policy_fuzzer: allocate(%zu, %zu) returned nullptr\n", size, align);
      fail("allocation refused with memory to spare");
    }
    add(p, size, align);
  }

  void release(size_t i) {
    Live b = live_[i];
    verify(b, "before release");
    remove_live(i);
    h_.release(b.p);
  }

  void reallocate(size_t i, size_t size) {
    Live b = live_[i];
    verify(b, "before reallocate");
    void* q = h_.policy.reallocate(b.p, size);
    if (q == nullptr) {
      verify(b, "after a refused reallocate");
      fprintf(stderr, "policy_fuzzer: reallocate(%p, %zu) returned nullptr\n", b.p, size);
      fail("reallocation refused with memory to spare");
    }
    remove_live(i);
    size_t keep = size < b.size ? size : b.size;
    size_t at = first_mismatch_sampled(q, b.size, b.seed, keep);
    if (at != b.size) {
      fprintf(stderr, "policy_fuzzer: after reallocate from %zu to %zu bytes, byte %zu differs\n", b.size,
              size, at);
      fail("contents not kept by reallocate", q);
    }
    add(q, size, 16);
  }

  const std::vector<Op>& ops_;
  PolicyHarness<P> h_;
  std::vector<Live> live_;
  std::map<uintptr_t, size_t> ranges_;  // start -> usable size
  size_t live_bytes_ = 0, total_bytes_ = 0, step_ = 0;
  uint64_t seed_ = 0;
};

template <class P>
bool selected() {
  static const bool on = [] {
    const char* list = getenv("POLICY_FUZZER_POLICIES");
    if (list == nullptr || *list == '\0') return true;
    size_t n = strlen(P::kName);
    for (const char* s = list; (s = strstr(s, P::kName)) != nullptr; s += n)
      if ((s == list || s[-1] == ',') && (s[n] == ',' || s[n] == '\0')) return true;
    return false;
  }();
  return on;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Reader in(data, size);
  unsigned header = in.byte();
  std::vector<Op> ops;
  while (!in.done() && ops.size() < kMaxOps) {
    Op op;
    switch (in.byte() % 4) {
      case 0:
      case 1:
        op.kind = kAllocate;
        op.size = in.size_spec();
        op.align = in.align();
        break;
      case 2:
        op.kind = kRelease;
        op.index = in.byte();
        break;
      default:
        op.kind = kReallocate;
        op.index = in.byte();
        op.size = in.size_spec();
        break;
    }
    ops.push_back(op);
  }
  // 0 restores the default reservation; 4 MiB is the smallest the heap memory takes.
  static const bool small_segments_allowed = [] {
    const char* v = getenv("POLICY_FUZZER_SMALL_SEGMENTS");
    return v == nullptr || strcmp(v, "0") != 0;
  }();
  HeapMemory::set_reserve_size_for_testing(header & 1 && small_segments_allowed ? size_t{4} << 20 : 0);
  if (selected<Yorktown>()) Run<Yorktown>(ops).go();
  if (selected<Watson>()) Run<Watson>(ops).go();
  if (selected<ThreeOne>()) Run<ThreeOne>(ops).go();
  return 0;
}
