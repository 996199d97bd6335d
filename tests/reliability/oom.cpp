// Runs out of memory on purpose, under RLIMIT_AS (oom_test.sh sets `ulimit -v`), with aixmalloc
// preloaded: this program is not linked with it. Each thread allocates blocks of mixed sizes until
// malloc returns NULL, which must come with errno == ENOMEM and not long before the limit; every
// block must still hold its pattern; after half of them are freed, their sizes must fit again; then,
// with memory exhausted once more, `new` must throw std::bad_alloc and nothrow `new` return nullptr;
// and once everything is freed, malloc works again.
//
//   usage: oom_program [threads]      exit 0 when every check holds; one line per failure
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <atomic>
#include <new>

namespace {

constexpr size_t kMaxBlocks = size_t{1} << 17;  // per thread; far more than the limit allows

struct Block {
  unsigned char* p;
  size_t size;
  uint64_t seed;
};

std::atomic<int> g_failures{0};
pthread_barrier_t g_barrier;
std::atomic<size_t> g_allocated{0};  // bytes held by all threads at their first NULL

void failure(unsigned thread, const char* what, size_t a = 0, size_t b = 0) {
  fprintf(stderr, "oom: thread %u: FAIL: %s (%zu, %zu)\n", thread, what, a, b);
  g_failures.fetch_add(1);
}

// A few bytes at each end and one per page in between: cheap, and every page gets touched, so the
// memory is really committed.
unsigned char pattern(uint64_t seed, size_t i) { return static_cast<unsigned char>((seed * 31 + i) * 0x9d); }
template <class F>
void each_sampled(size_t n, F f) {
  for (size_t i = 0; i < n && i < 64; ++i) f(i);
  for (size_t i = 4096; i + 64 < n; i += 4096) f(i);
  for (size_t i = n > 64 ? n - 64 : 64; i < n; ++i) f(i);
}
void fill(const Block& b) { each_sampled(b.size, [&](size_t i) { b.p[i] = pattern(b.seed, i); }); }
bool intact(const Block& b) {
  bool ok = true;
  each_sampled(b.size, [&](size_t i) { ok &= b.p[i] == pattern(b.seed, i); });
  return ok;
}

uint64_t next_random(uint64_t* state) {
  *state ^= *state << 13;
  *state ^= *state >> 7;
  *state ^= *state << 17;
  return *state;
}

// Mostly heap-sized requests, sometimes one big enough for a range of its own.
size_t random_size(uint64_t* rng) {
  uint64_t r = next_random(rng);
  switch (r % 16) {
    case 0:
      return (size_t{4} << 20) + r % (size_t{4} << 20);
    case 1:
    case 2:
    case 3:
      return 65536 + r % (1 << 20);
    case 4:
    case 5:
    case 6:
    case 7:
      return 1 + r % 65536;
    default:
      return 1 + r % 1024;
  }
}

struct Thread {
  unsigned id;
  Block* blocks;  // mmap'ed before the run: no bookkeeping may depend on malloc
  size_t* sizes;  // likewise
  size_t count = 0;
};

// Allocates `size`-byte blocks (random sizes when size is 0) until malloc fails; returns the bytes.
size_t fill_memory(Thread* t, uint64_t* rng, size_t size, bool expect_enomem) {
  size_t bytes = 0;
  while (t->count < kMaxBlocks) {
    size_t n = size ? size : random_size(rng);
    errno = 0;
    void* p = malloc(n);
    if (p == nullptr) {
      if (expect_enomem && errno != ENOMEM) failure(t->id, "malloc returned NULL with errno", errno, n);
      return bytes;
    }
    if (reinterpret_cast<uintptr_t>(p) % 16 != 0) failure(t->id, "misaligned block", n);
    Block& b = t->blocks[t->count++];
    b = Block{static_cast<unsigned char*>(p), n, next_random(rng)};
    fill(b);
    bytes += n;
  }
  failure(t->id, "bookkeeping full before malloc failed", t->count);
  return bytes;
}

void* run(void* arg) {
  auto* t = static_cast<Thread*>(arg);
  uint64_t rng = 0x9e3779b97f4a7c15ull + t->id;

  // 1. Allocate until malloc says no.
  size_t held = fill_memory(t, &rng, 0, true);
  g_allocated.fetch_add(held);
  pthread_barrier_wait(&g_barrier);
  for (size_t i = 0; i < t->count; ++i)
    if (!intact(t->blocks[i])) failure(t->id, "block damaged after the first NULL", i, t->blocks[i].size);

  // 2. Free every other block; the same sizes must fit again.
  size_t freed = 0, freed_bytes = 0, kept = 0;
  for (size_t i = 0; i < t->count; ++i) {
    if (i % 2) {
      t->sizes[freed++] = t->blocks[i].size;
      freed_bytes += t->blocks[i].size;
      free(t->blocks[i].p);
    } else {
      t->blocks[kept++] = t->blocks[i];
    }
  }
  t->count = kept;
  pthread_barrier_wait(&g_barrier);
  size_t again = 0, again_bytes = 0;
  for (size_t i = 0; i < freed; ++i) {
    void* p = malloc(t->sizes[i]);
    if (p == nullptr) continue;
    Block& b = t->blocks[t->count++];
    b = Block{static_cast<unsigned char*>(p), t->sizes[i], next_random(&rng)};
    fill(b);
    ++again;
    again_bytes += t->sizes[i];
  }
  if (freed && again == 0) failure(t->id, "nothing could be allocated again after freeing half", freed, freed_bytes);
  // Blocks of their own range go back to the system at once; heap blocks stay in their heap: half
  // of what was freed, at least, must be usable again.
  if (again_bytes * 2 < freed_bytes) failure(t->id, "less than half of the freed bytes fit again", again_bytes, freed_bytes);
  printf("oom: thread %u: freed %zu blocks (%zu KiB), %zu fit again (%zu KiB)\n", t->id, freed,
         freed_bytes >> 10, again, again_bytes >> 10);
  pthread_barrier_wait(&g_barrier);

  // 3. Exhaust memory down to the small sizes, then C++ allocation must fail the C++ way.
  for (size_t size : {size_t{1} << 20, size_t{65536}, size_t{4096}, size_t{256}, size_t{16}})
    fill_memory(t, &rng, size, false);
  pthread_barrier_wait(&g_barrier);
  bool threw = false;
  try {
    char* volatile p = new char[size_t{1} << 20];
    delete[] p;
  } catch (const std::bad_alloc&) {
    threw = true;
  }
  if (!threw) failure(t->id, "new char[1 MiB] did not throw with memory exhausted");
  threw = false;
  try {
    volatile size_t huge = SIZE_MAX / 2;
    char* volatile p = new char[huge];
    delete[] p;
  } catch (const std::bad_alloc&) {
    threw = true;
  }
  if (!threw) failure(t->id, "new char[SIZE_MAX / 2] did not throw");
  char* q = new (std::nothrow) char[size_t{1} << 20];
  if (q != nullptr) {
    failure(t->id, "nothrow new char[1 MiB] did not return nullptr with memory exhausted");
    delete[] q;
  }
  pthread_barrier_wait(&g_barrier);

  // 4. Everything intact, everything freed, and malloc serves again.
  for (size_t i = 0; i < t->count; ++i) {
    if (!intact(t->blocks[i])) failure(t->id, "block damaged at the end", i, t->blocks[i].size);
    free(t->blocks[i].p);
  }
  t->count = 0;
  pthread_barrier_wait(&g_barrier);
  void* p = malloc(size_t{1} << 20);
  if (p == nullptr) failure(t->id, "malloc(1 MiB) failed after everything was freed");
  free(p);
  // A range of its own needs address space the heaps may still hold (they keep their reservations,
  // as an sbrk heap keeps its break): reported, not required.
  p = malloc(size_t{16} << 20);
  printf("oom: thread %u: after everything was freed, malloc(16 MiB) %s\n", t->id, p ? "succeeds" : "fails");
  free(p);
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  unsigned threads = argc > 1 ? static_cast<unsigned>(atoi(argv[1])) : 1;
  if (threads < 1 || threads > 8) threads = 1;
  struct rlimit rl;
  getrlimit(RLIMIT_AS, &rl);
  if (rl.rlim_cur == RLIM_INFINITY) {
    fprintf(stderr, "oom: no RLIMIT_AS: run me under ulimit -v\n");
    return 2;
  }
  // stdio's buffer must exist before memory runs out.
  static char out[4096];
  setvbuf(stdout, out, _IOLBF, sizeof(out));
  pthread_barrier_init(&g_barrier, nullptr, threads);
  Thread t[8];
  pthread_t tid[8];
  for (unsigned i = 0; i < threads; ++i) {
    void* m = mmap(nullptr, kMaxBlocks * sizeof(Block), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void* s = mmap(nullptr, kMaxBlocks * sizeof(size_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || s == MAP_FAILED) return 2;
    t[i].id = i;
    t[i].blocks = static_cast<Block*>(m);
    t[i].sizes = static_cast<size_t*>(s);
  }
  // Threads are created before memory runs out: their stacks are mapped now.
  for (unsigned i = 0; i < threads; ++i) pthread_create(&tid[i], nullptr, run, &t[i]);
  for (unsigned i = 0; i < threads; ++i) pthread_join(tid[i], nullptr);
  size_t limit = rl.rlim_cur;
  size_t held = g_allocated.load();
  printf("oom: %u thread(s), RLIMIT_AS %zu MiB: first NULL with %zu MiB held (%zu%%)\n", threads,
         limit >> 20, held >> 20, held * 100 / limit);
  // The program, its libraries, stacks and the allocator's bookkeeping take some of the limit; but a
  // NULL while most of it is still free is an allocator that gave up early.
  if (held < limit / 2) {
    fprintf(stderr, "oom: FAIL: malloc first returned NULL with only %zu MiB of %zu MiB held\n", held >> 20,
            limit >> 20);
    g_failures.fetch_add(1);
  }
  int failures = g_failures.load();
  printf("oom: %s\n", failures ? "FAILED" : "all checks passed");
  return failures ? 1 : 0;
}
