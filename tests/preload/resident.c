/* The library's own pages resident in a process that starts, allocates and frees (aixmalloc(7),
 * "Resident memory").
 *
 * main installs a signal handler with signal(), as sqlite3 and git do (the library exports
 * signal() to keep the handlers of the signals it reports on), allocates and frees blocks of
 * every layer's sizes (small and mixed sizes, calloc, realloc, a large block), then sums the Rss
 * of the mappings of the library's file (argv[1], its real path) in /proc/self/smaps: its code,
 * its read-only data and its data.
 * Prints "text_kb=N file_kb=M". */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void allocate_and_free(void) {
  enum { kSlots = 256 };
  void* held[kSlots] = {0};
  unsigned x = 12345;
  for (int i = 0; i < 20000; ++i) {
    x = x * 1103515245u + 12345u;
    unsigned s = (x >> 8) % kSlots;
    free(held[s]);
    size_t size = (x >> 16) % 4 == 0 ? 1 + (x >> 4) % 20000 : 1 + (x >> 4) % 512;
    held[s] = (x >> 12) % 8 == 0 ? calloc(1, size) : malloc(size);
    if (held[s] && (x >> 20) % 8 == 0) held[s] = realloc(held[s], size * 2);
    if (held[s]) memset(held[s], 1, size);
  }
  for (int s = 0; s < kSlots; ++s) free(held[s]);
  char* big = malloc((size_t)8 << 20);
  if (big) big[0] = 1;
  free(big);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: resident LIBRARY-PATH\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  allocate_and_free();
  FILE* f = fopen("/proc/self/smaps", "r");
  if (f == NULL) return 1;
  char line[4096];
  long text_kb = 0, file_kb = 0, kb;
  int ours = 0, exec = 0;
  while (fgets(line, sizeof line, f)) {
    char perms[8], path[4096];
    unsigned long lo, hi;
    if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %4095s", &lo, &hi, perms, path) == 4) {
      ours = strcmp(path, argv[1]) == 0;
      exec = perms[2] == 'x';
    } else if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3) {
      ours = 0;
    } else if (ours && sscanf(line, "Rss: %ld kB", &kb) == 1) {
      file_kb += kb;
      if (exec) text_kb += kb;
    }
  }
  fclose(f);
  printf("text_kb=%ld file_kb=%ld\n", text_kb, file_kb);
  return 0;
}
