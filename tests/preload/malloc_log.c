/* The Malloc Log's cases (malloc_log_test.sh): leaks at known sites, the API, `extended` over two
 * threads, fork and exec. Built with -rdynamic (so dladdr names the program's own functions) and
 * -O1 -fno-inline: each leak_* function stays a frame of its own. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libmalloc/aixmalloc.h"

/* From the preloaded library, found at run time. */
#pragma weak get_malloc_log
#pragma weak get_malloc_log_live
#pragma weak reset_malloc_log

#define CHECK(cond)                                                      \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "malloc_log: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      exit(1);                                                           \
    }                                                                    \
  } while (0)

static void* volatile sink;

__attribute__((noinline)) void leak_small(void) { sink = malloc(24); }
__attribute__((noinline)) void leak_medium(void) { sink = calloc(1, 1000); }
__attribute__((noinline)) void leak_large(void) { sink = malloc(5 << 20); }
__attribute__((noinline)) void leak_realloc(void) { sink = realloc(malloc(10), 3000); }
__attribute__((noinline)) void not_a_leak(void) { free(malloc(777)); }

/* With a frame pointer and a frame of run-time size, the CFA of leak_framed is rbp-based: its
 * caller's rbp as the entry point noted it is what the unwinder must start from. */
__attribute__((noinline, optimize("no-omit-frame-pointer"))) void leak_framed(size_t n) {
  char* volatile pad = __builtin_alloca(n);
  pad[0] = 1;
  sink = malloc(n);
}
__attribute__((noinline, optimize("no-omit-frame-pointer"))) void leak_framed_calloc(size_t n) {
  char* volatile pad = __builtin_alloca(n);
  pad[0] = 1;
  sink = calloc(1, n);
}
__attribute__((noinline)) void framed_caller(void) {
  for (volatile int i = 0; i < 2; ++i) leak_framed(40);
  leak_framed_calloc(56);
}

/* One call site reached through two callers whose frames are alike, called from the same frame:
 * the same return address and stack pointer at malloc, other callers above (a stack is never taken
 * for another that starts the same). */
__attribute__((noinline)) void leak_shared(void) { sink = malloc(48); }
__attribute__((noinline)) void via_one(void) {
  leak_shared();
  __asm__ volatile("" ::: "memory"); /* no tail call: via_one stays a frame */
}
__attribute__((noinline)) void via_two(void) {
  leak_shared();
  __asm__ volatile("" ::: "memory");
}

/* The known leaks: leak_small 5 x 24, leak_medium 3 x 1000, leak_large 1 x 5 MiB, leak_realloc
 * 2 x 3000, leak_framed 2 x 40 and leak_framed_calloc 1 x 56 (from framed_caller), leak_shared
 * 3 x 48 from via_one and 2 x 48 from via_two, in turns. Each called from leaks(), from main(). */
void leaks(void) {
  for (volatile int i = 0; i < 5; ++i) leak_small();
  for (volatile int i = 0; i < 3; ++i) leak_medium();
  leak_large();
  for (volatile int i = 0; i < 2; ++i) leak_realloc();
  for (volatile int i = 0; i < 10; ++i) not_a_leak();
  framed_caller();
  for (volatile int i = 0; i < 3; ++i) {
    via_one();
    if (i < 2) via_two();
  }
}

static size_t live_count(void* addr, size_t size) {
  static struct malloc_log buf[4096];
  size_t got = get_malloc_log(addr, buf, sizeof buf), n = 0;
  for (size_t i = 0; i < got / sizeof buf[0]; ++i)
    if (size == 0 || buf[i].size == size) n += buf[i].cnt;
  return n;
}

__attribute__((noinline)) void* api_block(size_t n) { return malloc(n); }

static int api(void) {
  enum { kBlocks = 1000 };
  static void* blocks[kBlocks];
  size_t before = live_count(NULL, 4321);
  for (int i = 0; i < kBlocks; ++i) blocks[i] = api_block(4321);
  CHECK(live_count(NULL, 4321) == before + kBlocks);
  CHECK(live_count(blocks[0], 4321) >= 1);  /* its own heap holds it */
  for (int i = 0; i < kBlocks / 2; ++i) free(blocks[i]);
  CHECK(live_count(NULL, 4321) == before + kBlocks / 2);
  /* The live array holds the same records. */
  struct malloc_log* live = get_malloc_log_live(NULL);
  CHECK(live != NULL);
  size_t in_live = 0;
  for (struct malloc_log* r = live; r->callers[0] != 0; ++r)
    if (r->size == 4321) in_live += r->cnt;
  CHECK(in_live == before + kBlocks / 2);
  /* A pointer that is not malloc's. */
  int on_stack;
  errno = 0;
  CHECK(get_malloc_log(&on_stack, live, 64) == 0 && errno == EINVAL);
  errno = 0;
  CHECK(get_malloc_log_live(&on_stack) == NULL && errno == EINVAL);
  /* A small buffer gets whole records only. */
  struct malloc_log two[2];
  size_t got = get_malloc_log(NULL, two, sizeof two + 7);
  CHECK(got <= sizeof two && got % sizeof two[0] == 0);
  /* Reset forgets what is live; later frees change nothing, new blocks count again. */
  reset_malloc_log(NULL);
  CHECK(live_count(NULL, 0) == 0);
  for (int i = kBlocks / 2; i < kBlocks; ++i) free(blocks[i]);
  CHECK(live_count(NULL, 0) == 0);
  void* again = api_block(4321);
  CHECK(live_count(NULL, 4321) == 1);
  free(again);
  printf("api ok\n");
  return 0;
}

/* `extended`: each of two threads leaks 3 blocks of its own size. */
__attribute__((noinline)) void leak_in_thread(size_t size) { sink = malloc(size); }
static void* thread_main(void* arg) {
  for (volatile int i = 0; i < 3; ++i) leak_in_thread((size_t)(uintptr_t)arg);
  return NULL;
}
static int threads(void) {
  pthread_t t;
  pthread_create(&t, NULL, thread_main, (void*)(uintptr_t)111);
  pthread_join(t, NULL);
  pthread_create(&t, NULL, thread_main, (void*)(uintptr_t)222);
  pthread_join(t, NULL);
  return 0;
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "leaks";
  if (strcmp(mode, "leaks") == 0) leaks();
  else if (strcmp(mode, "api") == 0) return api();
  else if (strcmp(mode, "threads") == 0) return threads();
  else if (strcmp(mode, "fork") == 0) {
    leak_small();                       /* the parent's, inherited by the child */
    pid_t pid = fork();
    if (pid == 0) {
      leak_medium();                    /* the child's own */
      exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    leak_large();
  } else if (strcmp(mode, "exec") == 0) {
    /* A chain: each process leaks once, forks, and its child execs the next link. */
    int left = argc > 2 ? atoi(argv[2]) : 3;
    leak_small();
    if (left > 0) {
      char next[16];
      snprintf(next, sizeof next, "%d", left - 1);
      pid_t pid = fork();
      if (pid == 0) {
        execl("/proc/self/exe", argv[0], "exec", next, (char*)NULL);
        _exit(127);
      }
      int status;
      waitpid(pid, &status, 0);
    }
  }
  printf("done\n");
  return 0;
}
