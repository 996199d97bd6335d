// Under MALLOCTYPE=user: with examples/replacement/simple_malloc.c: every entry point reaches the
// replacement (its call counts grow), fork from a threaded process runs its prefork and postfork
// hooks, and aligned requests go to its __posix_memalign__, or without one to the default policy
// and back there at free. With "-" instead of the library: the default policy serves (mallinfo2
// has its figures). Prints one "name=ok" or "name=FAIL ..." line per check.
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <new>

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"  // mallinfo(), which AIX programs call

// AIX's way for a program to name its replacement; used when MALLOCTYPE is not set.
extern "C" {
__attribute__((used)) char* _malloc_user_defined_name = const_cast<char*>("simple_malloc");
}

namespace {

using Calls = unsigned long (*)(const char*);
Calls g_calls;
bool g_failed = false;

void check(const char* name, bool ok, const char* detail = "") {
  printf("%s=%s%s\n", name, ok ? "ok" : "FAIL ", ok ? "" : detail);
  if (!ok) g_failed = true;
}

// The growth of `entry`'s count over `fn`.
template <class Fn>
unsigned long grows(const char* entry, Fn fn) {
  unsigned long before = g_calls(entry);
  fn();
  return g_calls(entry) - before;
}

std::atomic<bool> g_stop{false};
void* churn(void*) {
  while (!g_stop.load()) free(malloc(64));
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  if (strcmp(argv[1], "-") == 0) {  // no replacement expected: the default policy's figures
    void* q = malloc(1000);
    struct mallinfo2 m = mallinfo2();
    free(q);
    check("default", q != nullptr && m.arena > 0 && m.uordblks >= 1000);
    return g_failed ? 1 : 0;
  }
  void* h = dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD);
  if (h == nullptr) {
    printf("loaded=FAIL %s is not loaded\n", argv[1]);
    return 1;
  }
  g_calls = reinterpret_cast<Calls>(dlsym(h, "simple_malloc_calls"));
  bool memalign_symbol = dlsym(h, "__posix_memalign__") != nullptr;
  check("start", g_calls("__malloc_start__") == 1);
  check("init", g_calls("__malloc_init__") == 1);

  void* p = nullptr;
  check("malloc", grows("__malloc__", [&] { p = malloc(100); }) == 1 && p != nullptr);
  check("realloc", grows("__realloc__", [&] { p = realloc(p, 5000); }) == 1 && p != nullptr);
  check("free", grows("__free__", [&] { free(p); }) == 1);
  // A size of 0 reaches the replacement as it is, whatever AIXMALLOC_ZERO_SIZE says: a replacement
  // decides its own zero-size semantics (aixmalloc(7)).
  check("malloc_zero", grows("__malloc__", [&] { p = malloc(0); }) == 1);
  free(p);
  check("calloc", grows("__calloc__", [&] {
                    unsigned char* c = static_cast<unsigned char*>(calloc(10, 30));
                    bool zero = c != nullptr;
                    for (int i = 0; zero && i < 300; ++i) zero = c[i] == 0;
                    if (!zero) g_failed = true;
                    free(c);
                  }) == 1);
  check("mallinfo", grows("__mallinfo__", [] {
                      struct mallinfo m = mallinfo();
                      (void)m;
                    }) == 1);
  check("mallinfo2", grows("__mallinfo__", [] {
                       struct mallinfo2 m = mallinfo2();
                       (void)m;
                     }) == 1);
  check("mallopt", grows("__mallopt__", [] { mallopt(1, 0); }) == 1);
  check("new", grows("__malloc__", [] { delete new int(3); }) == 1);
  check("delete", grows("__free__", [] { delete[] new char[3000]; }) == 1);

  // Aligned requests: to __posix_memalign__ when there is one, else to the default policy; free
  // sends each back where it came from (the default policy's blocks never reach __free__).
  unsigned long expect_free = memalign_symbol ? 1 : 0;
  struct Aligned {
    const char* name;
    void* (*fn)();
    size_t align;
  } aligned[] = {
      {"posix_memalign",
       [] {
         void* q = nullptr;
         return posix_memalign(&q, 64, 200) == 0 ? q : nullptr;
       },
       64},
      {"memalign", [] { return memalign(256, 1000); }, 256},
      {"aligned_alloc", [] { return aligned_alloc(4096, 4096); }, 4096},
      {"valloc", [] { return valloc(10); }, 4096},
      {"new_aligned", [] { return operator new(100, std::align_val_t(128)); }, 128},
  };
  for (const Aligned& a : aligned) {
    void* q = nullptr;
    unsigned long via = grows("__posix_memalign__", [&] { q = a.fn(); });
    bool ok = q != nullptr && reinterpret_cast<uintptr_t>(q) % a.align == 0 &&
              via == (memalign_symbol ? 1u : 0u);
    if (q) memset(q, 0x5a, 10);
    unsigned long freed = grows("__free__", [&] { free(q); });
    char detail[96];
    snprintf(detail, sizeof detail, "(ptr %p, __posix_memalign__ +%lu, __free__ +%lu)", q, via,
             freed);
    check(a.name, ok && freed == expect_free, detail);
  }

  // fork from a threaded process: the prefork hook before, the postfork hook after, in both.
  pthread_t t;
  pthread_create(&t, nullptr, churn, nullptr);
  unsigned long pre = g_calls("__malloc_prefork_lock__"),
                post = g_calls("__malloc_postfork_unlock__");
  pid_t pid = fork();
  if (pid == 0) {
    void* c = malloc(50);
    free(c);
    bool ok = g_calls("__malloc_prefork_lock__") == pre + 1 &&
              g_calls("__malloc_postfork_unlock__") == post + 1;
    _exit(ok && c != nullptr ? 0 : 3);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  g_stop = true;
  pthread_join(t, nullptr);
  check("fork_parent", g_calls("__malloc_prefork_lock__") == pre + 1 &&
                           g_calls("__malloc_postfork_unlock__") == post + 1);
  check("fork_child", WIFEXITED(status) && WEXITSTATUS(status) == 0);
  return g_failed ? 1 : 0;
}
