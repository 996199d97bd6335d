// What report_streams_test.sh runs under AIXMALLOC_STATS=stdout or stderr: a program that, before
// it exits, closes a standard stream and opens a file of its own, which gets the freed number.
// Usage: report_streams FD FILE: closes FD (1 or 2), opens FILE (it gets FD), writes "program data"
// to it and exits normally.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  int fd = atoi(argv[1]);
  free(malloc(100));  // the allocator starts (and keeps the stream) before the program closes it
  close(fd);
  int got = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (got != fd) return 3;
  static const char kData[] = "program data\n";
  if (write(got, kData, strlen(kData)) != (ssize_t)strlen(kData)) return 4;
  return 0;
}
