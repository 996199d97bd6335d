/* The faults and misuses MALLOCDEBUG=catch_overflow must catch, one per run: the first argument
 * names the case, the test script (catch_overflow_test.sh) sets MALLOCDEBUG and checks how the
 * process ended and what was reported. Built with -rdynamic so that functionset can name
 * guarded_site and unguarded_site. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile char sink;
static sigjmp_buf recover;

static void swallow(int sig) {
  (void)sig;
  siglongjmp(recover, 1);
}

/* Allocation sites that functionset names; noinline so each is its own caller of malloc. */
__attribute__((noinline)) char* guarded_site(size_t n) { return malloc(n); }
__attribute__((noinline)) char* unguarded_site(size_t n) { return malloc(n); }

static void done(const char* what) {
  printf("survived: %s\n", what);
  fflush(stdout);
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const char* c = argv[1];
  size_t n = argc > 2 ? strtoul(argv[2], NULL, 0) : 16;
  size_t off = argc > 3 ? strtoul(argv[3], NULL, 0) : 0;
  if (!strcmp(c, "write")) { /* write at p[n + off] */
    char* p = malloc(n);
    memset(p, 1, n);
    p[n + off] = 1;
    done("write");
  } else if (!strcmp(c, "read")) {
    char* p = malloc(n);
    memset(p, 1, n);
    sink = p[n + off];
    done("read");
  } else if (!strcmp(c, "use_after_free")) {
    char* p = malloc(n);
    memset(p, 1, n);
    free(p);
    for (int i = 0; i < 100; ++i) free(malloc(n)); /* the freed block is not handed out again */
    p[off] = 2;
    done("use_after_free");
  } else if (!strcmp(c, "double_free")) {
    char* p = malloc(n);
    free(p);
    free(p);
    char* q = malloc(n); /* the program goes on, and so does the allocator */
    memset(q, 3, n);
    free(q);
    done("double_free");
  } else if (!strcmp(c, "interior_free")) {
    char* p = malloc(n);
    free(p + (off ? off : 8));
    free(p);
    done("interior_free");
  } else if (!strcmp(c, "range")) { /* n in range faults; a size outside it does not */
    char* small = malloc(off);
    small[off] = 1; /* past the end of an unguarded block: inside its slack, harmless */
    printf("size %zu not guarded\n", off);
    fflush(stdout);
    char* p = malloc(n);
    p[n] = 1;
    done("range");
  } else if (!strcmp(c, "functionset")) { /* unguarded_site's block is not guarded; guarded_site's is */
    char* u = unguarded_site(n);
    u[n] = 1;
    printf("unguarded_site not guarded\n");
    fflush(stdout);
    char* g = guarded_site(n);
    g[n] = 1;
    done("functionset");
  } else if (!strcmp(c, "own_handler")) { /* the program's SIGSEGV handler swallows faults */
    signal(SIGSEGV, swallow);
    char* p = malloc(n);
    if (sigsetjmp(recover, 1) == 0) {
      p[n] = 1;
      done("own_handler: no fault");
    } else {
      done("own_handler: the program's handler ran");
    }
  } else if (!strcmp(c, "many")) { /* n live guarded blocks, each written to its last byte */
    char** v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; ++i) {
      v[i] = malloc(24);
      if (!v[i]) { printf("malloc failed at %zu\n", i); return 1; }
      v[i][23] = 1;
    }
    for (size_t i = 0; i < n; ++i) free(v[i]);
    free(v);
    done("many");
  } else {
    return 2;
  }
  return 0;
}
