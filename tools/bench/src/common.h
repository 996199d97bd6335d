// common.h - small helpers shared by the aixmalloc benchmark workloads.
//
// Only plain malloc/free/realloc are used by the workloads (no allocator
// specific API), so an allocator can be swapped in with LD_PRELOAD.
//
// Conventions shared by every bench_* program:
//   --iters N    main amount of work (meaning documented per program)
//   --threads N  worker threads (multi-threaded programs only)
//   --seed N     seed of the deterministic random generator
//   --quick      about 10x less work (same as environment BENCH_QUICK=1)
//   --help       usage
// Output: exactly one line starting with "result:" on stdout; it depends only
// on the arguments (never on addresses or timing), so it must be identical
// for every allocator. Lines starting with "info:" are informational (RSS...)
// and are not compared. On a verification error the program prints
// "FAIL: ..." on stderr and exits with status 2; bad usage exits with 64.
#pragma once

#include <unistd.h>

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

namespace bench {

[[noreturn]] inline void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
inline void fail(const char* fmt, ...) {
  // One write(2) so that messages of concurrently failing threads do not mix.
  char buf[512] = "FAIL: ";
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf + 6, sizeof buf - 8, fmt, ap);
  va_end(ap);
  size_t n = std::strlen(buf);
  buf[n++] = '\n';
  std::fflush(stdout);
  ssize_t w = ::write(2, buf, n);
  (void)w;
  std::_Exit(2);
}

// splitmix64: tiny, fast, deterministic on every platform.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull) {}
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // uniform in [0, n)
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }
  // uniform in [lo, hi]
  uint64_t range(uint64_t lo, uint64_t hi) { return lo + below(hi - lo + 1); }
  // log-uniform in [lo, hi] for powers of two lo < hi: pick an octave
  // uniformly, then a size uniformly inside the octave. Integer-only, so
  // identical everywhere.
  size_t log_size(size_t lo, size_t hi) {
    int elo = 0, ehi = 0;
    while ((size_t(1) << elo) < lo) ++elo;
    while ((size_t(1) << ehi) < hi) ++ehi;
    if (ehi <= elo) return lo;
    int e = elo + int(below(uint64_t(ehi - elo)));
    size_t base = size_t(1) << e;
    size_t v = base + below(base);
    if (v < lo) v = lo;
    if (v > hi) v = hi;
    return v;
  }
};

inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 33)) * 0xFF51AFD7ED558CCDull;
  z = (z ^ (z >> 33)) * 0xC4CEB9FE1A85EC53ull;
  return z ^ (z >> 33);
}

inline void store64(void* p, uint64_t v) { std::memcpy(p, &v, 8); }
inline uint64_t load64(const void* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Pattern word stored at byte offset off of a block with tag `tag`.
inline uint64_t pattern_word(uint64_t tag, size_t off) {
  return tag ^ (uint64_t(off) * 0x9E3779B97F4A7C15ull);
}

// Writes the pattern into p[0, n): one 8-byte word every `stride` bytes
// (stride must be a multiple of 8; 8 = the whole block) plus the last word
// (at n-8, possibly unaligned).
// Blocks shorter than 8 bytes get a byte pattern.
inline void fill_pattern(void* p, size_t n, uint64_t tag, size_t stride = 8) {
  unsigned char* c = static_cast<unsigned char*>(p);
  if (n < 8) {
    for (size_t i = 0; i < n; ++i) c[i] = static_cast<unsigned char>(tag >> (8 * i));
    return;
  }
  // Grid words stop before the tail word so that they never overlap it.
  for (size_t off = 0; off + 16 <= n; off += stride) store64(c + off, pattern_word(tag, off));
  store64(c + n - 8, pattern_word(tag, n - 8));
}

// Returns true if fill_pattern(p, n, tag, stride) is intact.
inline bool check_pattern(const void* p, size_t n, uint64_t tag, size_t stride = 8) {
  const unsigned char* c = static_cast<const unsigned char*>(p);
  if (n < 8) {
    for (size_t i = 0; i < n; ++i)
      if (c[i] != static_cast<unsigned char>(tag >> (8 * i))) return false;
    return true;
  }
  for (size_t off = 0; off + 16 <= n; off += stride)
    if (load64(c + off) != pattern_word(tag, off)) return false;
  return load64(c + n - 8) == pattern_word(tag, n - 8);
}

inline void* xmalloc(size_t n) {
  void* p = std::malloc(n);
  if (!p) fail("malloc(%zu) returned NULL", n);
  return p;
}

inline void* xrealloc(void* old, size_t n) {
  void* p = std::realloc(old, n);
  if (!p) fail("realloc(%p, %zu) returned NULL", old, n);
  return p;
}

// Current resident set size in KiB (from /proc/self/statm).
inline long rss_kib() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return -1;
  long size = 0, resident = 0;
  int got = std::fscanf(f, "%ld %ld", &size, &resident);
  std::fclose(f);
  if (got != 2) return -1;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);  // statm counts pages
}

// Peak resident set size in KiB (VmHWM from /proc/self/status).
inline long peak_rss_kib() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long v = -1;
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, "VmHWM:", 6) == 0) {
      v = std::strtol(line + 6, nullptr, 10);
      break;
    }
  std::fclose(f);
  return v;
}

// Minimal "--name value" / "--name=value" / "--flag" parser.
class Args {
 public:
  Args(int argc, char** argv, const char* usage) : usage_(usage) {
    const char* q = std::getenv("BENCH_QUICK");
    quick = q && *q && std::strcmp(q, "0") != 0;
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--help" || a == "-h") {
        std::printf("%s", usage_);
        std::exit(0);
      }
      if (a == "--quick") {
        quick = true;
        continue;
      }
      if (a.size() < 3 || a.compare(0, 2, "--") != 0) bad("unexpected argument '" + a + "'");
      std::string key = a.substr(2), val;
      size_t eq = key.find('=');
      if (eq != std::string::npos) {
        val = key.substr(eq + 1);
        key = key.substr(0, eq);
      } else {
        if (i + 1 >= argc) bad("missing value for --" + key);
        val = argv[++i];
      }
      opts_[key] = val;
    }
  }

  // Integer option; `full` is the default, `quick_def` the --quick default.
  long get(const char* name, long full, long quick_def) {
    auto it = opts_.find(name);
    if (it == opts_.end()) return quick ? quick_def : full;
    char* end = nullptr;
    long v = std::strtol(it->second.c_str(), &end, 0);
    if (!end || *end || v < 0) bad(std::string("bad value for --") + name + ": " + it->second);
    opts_.erase(it);
    return v;
  }

  // Call after all get()s: rejects unknown options.
  void done() {
    if (!opts_.empty()) bad("unknown option --" + opts_.begin()->first);
  }

  bool quick = false;

 private:
  [[noreturn]] void bad(const std::string& msg) {
    std::fprintf(stderr, "error: %s\n%s", msg.c_str(), usage_);
    std::exit(64);
  }
  const char* usage_;
  std::map<std::string, std::string> opts_;
};

}  // namespace bench
