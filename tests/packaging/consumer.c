/* A program outside the tree that uses aixmalloc as an installed library: it calls what
 * <aixmalloc.h> adds and the ordinary malloc family, and prints what it saw. */
#include <aixmalloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  char* p = malloc(100);
  strcpy(p, "aixmalloc");
  struct mallinfo_heap h = mallinfo_heap(0);
  printf("%s heaps=%d netalloc_nonzero=%d check=%d\n", p, aixmalloc_heap_count(), h.netalloc > 0,
         aixmalloc_check());
  free(p);
  return 0;
}
