/* The process that `aixmalloc leaks --pid` asks in leaks_live_test.sh: it leaks known blocks at
 * known functions, says "ready 1" and waits for a line on standard input; "more" leaks four blocks
 * more (from leak_more) and says "ready 2"; the end of its input ends it with status 0. Blocks
 * allocated and freed meanwhile are not leaks. Built with -rdynamic and -g. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void* volatile sink;

__attribute__((noinline)) void leak_small(void) { sink = malloc(100); }
__attribute__((noinline)) void leak_zeroed(void) { sink = calloc(1, 5000); }
__attribute__((noinline)) void leak_more(void) { sink = malloc(40); }
__attribute__((noinline)) void not_a_leak(void) { free(malloc(64)); }

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (volatile int i = 0; i < 3; ++i) leak_small();  /* volatile: one call site each */
  for (volatile int i = 0; i < 2; ++i) leak_zeroed();
  for (volatile int i = 0; i < 10; ++i) not_a_leak();
  printf("ready 1\n");
  char line[64];
  while (fgets(line, sizeof line, stdin)) {
    if (strcmp(line, "more\n") == 0) {
      for (volatile int i = 0; i < 4; ++i) leak_more();
      printf("ready 2\n");
    }
  }
  return 0;
}
