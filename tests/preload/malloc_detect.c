/* The misuses Malloc Detect reports, and the uses it must let through, one per mode (argv[1]); run
 * under LD_PRELOAD with MALLOCDEBUG set by malloc_detect_test.sh. A mode that goes on after a
 * misuse prints "survived"; one whose checks pass prints "ok"; a failed check prints it and exits 1.
 *
 *   double N     free a block of N bytes twice
 *   interior N   free a block of N bytes at offset 16
 *   foreign      free a local variable's address
 *   continue     every misuse once (free, realloc, malloc_usable_size), then work normally
 *   fill B       new blocks hold byte B over their usable size; calloc is zero
 *   damage       write into a freed heap block's size word, then malloc
 *   fork         a child frees and reallocates the parent's blocks
 *   threads [N]  four threads allocate, reallocate and free each other's blocks, N rounds each
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void* launder(void* p) {
  __asm__ volatile("" : "+r"(p));
  return p;
}

static int check(int ok, const char* what) {
  if (!ok) {
    printf("FAILED: %s\n", what);
    exit(1);
  }
  return ok;
}

static const size_t kSizes[] = {24, 1000, 20000, 5u << 20};

static int all_bytes(const unsigned char* p, size_t from, size_t to, unsigned char b) {
  for (size_t i = from; i < to; ++i)
    if (p[i] != b) return 0;
  return 1;
}

static int rounds = 20000;

static void* churn(void* arg) {
  void** shared = arg;
  for (int i = 0; i < rounds; ++i) {
    size_t n = 1 + (size_t)(i * 131) % 6000;
    char* p = malloc(n);
    memset(p, i, n);
    if (i % 4 == 0) p = realloc(p, 2 * n);
    /* Swap with a slot another thread may free. */
    void* old = __atomic_exchange_n(&shared[i % 64], p, __ATOMIC_ACQ_REL);
    free(old);
  }
  return NULL;
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  size_t n = argc > 2 ? strtoul(argv[2], NULL, 0) : 100;
  setvbuf(stdout, NULL, _IONBF, 0);
  if (strcmp(mode, "double") == 0) {
    void* p = malloc(n);
    void* guard = malloc(n);
    free(p);
    free(launder(p));
    free(guard);
    printf("survived\n");
  } else if (strcmp(mode, "interior") == 0) {
    char* p = malloc(n);
    free(launder(p + 16));
    printf("survived\n");
  } else if (strcmp(mode, "foreign") == 0) {
    int local = 0;
    free(launder(&local));
    printf("survived\n");
  } else if (strcmp(mode, "continue") == 0) {
    for (size_t i = 0; i < sizeof(kSizes) / sizeof(kSizes[0]); ++i) {
      char* p = malloc(kSizes[i]);
      char* q = malloc(kSizes[i]);
      memset(q, 0x11, 24);
      free(p);
      free(launder(p));
      free(launder(q + 16));
      errno = 0;
      check(realloc(launder(q + 16), 100) == NULL && errno == EINVAL, "realloc of a bad pointer");
      check(malloc_usable_size(launder(q + 16)) == 0, "malloc_usable_size of a bad pointer");
      check(q[23] == 0x11, "the block of a dropped call is intact");
      q = realloc(q, 3 * kSizes[i]);
      check(q != NULL && q[0] == 0x11, "realloc after the misuses");
      free(q);
    }
    for (int i = 0; i < 10000; ++i) free(malloc(1 + (size_t)i * 7 % 30000));
    printf("survived\n");
  } else if (strcmp(mode, "fill") == 0) {
    unsigned char b = (unsigned char)n;
    for (size_t i = 0; i < sizeof(kSizes) / sizeof(kSizes[0]); ++i) {
      unsigned char* p = malloc(kSizes[i]);
      check(all_bytes(p, 0, malloc_usable_size(p), b), "malloc filled");
      unsigned char* z = calloc(kSizes[i], 1);
      check(all_bytes(z, 0, kSizes[i], 0), "calloc zero");
      memset(p, 1, kSizes[i]);
      p = realloc(p, 2 * kSizes[i]);
      check(all_bytes(p, 0, kSizes[i], 1) && all_bytes(p, kSizes[i], 2 * kSizes[i], b), "realloc's new part");
      free(p);
      free(z);
    }
    void* a = NULL;
    check(posix_memalign(&a, 4096, 1000) == 0 && all_bytes(a, 0, 1000, b), "posix_memalign filled");
    free(a);
    printf("ok\n");
  } else if (strcmp(mode, "damage") == 0) {
    /* A heap block whose neighbours are both live, so that freed it merges with neither; a block's
     * prefix is its start and size (flags in the low bits) 16 bytes before it. */
    char* run[32];
    char* b = NULL;
    for (int i = 0; i < 32 && b == NULL; ++i) {
      run[i] = malloc(20000);
      for (int x = 0; x <= i && b == NULL; ++x) {
        uintptr_t start = (uintptr_t)run[x] - 16, end = start + (((uintptr_t*)run[x])[-2] & ~(uintptr_t)15);
        int below = 0, above = 0;
        for (int y = 0; y <= i; ++y) {
          uintptr_t other = (uintptr_t)run[y] - 16;
          below |= other + (((uintptr_t*)run[y])[-2] & ~(uintptr_t)15) == start;
          above |= other == end;
        }
        if (below && above) b = run[x];
      }
    }
    check(b != NULL, "a block between two live ones");
    free(b);
    ((uintptr_t*)launder(b))[-2] |= 8; /* the free block's size word */
    free(malloc(10));
    printf("survived\n");
  } else if (strcmp(mode, "fork") == 0) {
    char* p = malloc(1000);
    char* q = malloc(24);
    pid_t pid = fork();
    if (pid == 0) {
      p = realloc(p, 50000);
      free(p);
      free(q);
      free(malloc(100));
      _exit(0);
    }
    int status = 0;
    check(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child");
    free(p);
    free(q);
    printf("ok\n");
  } else if (strcmp(mode, "threads") == 0) {
    static void* shared[64];
    if (argc > 2) rounds = (int)n;
    pthread_t t[4];
    for (int i = 0; i < 4; ++i) pthread_create(&t[i], NULL, churn, shared);
    for (int i = 0; i < 4; ++i) pthread_join(t[i], NULL);
    for (int i = 0; i < 64; ++i) free(shared[i]);
    printf("ok\n");
  } else {
    fprintf(stderr, "usage: malloc_detect MODE [N]\n");
    return 2;
  }
  return 0;
}
