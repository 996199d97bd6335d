/* The Malloc Log across dlclose (malloc_log_dlclose_test.sh): allocations through a library's
 * module_alloc are logged and freed, the library is closed, a second one (same layout, other
 * frames: malloc_log_module.c) is opened, at the same address when the kernel gives it back, and
 * its allocations are left live for the report. Prints whether the address was the same. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef void* (*alloc_fn)(size_t);
static void* volatile sink[3];

/* Not a tail call: this frame stays between main and the library's. */
__attribute__((noinline)) void* call_module(alloc_fn fn, size_t n) {
  void* p = fn(n);
  __asm__ volatile("" : : "r"(p) : "memory");
  return p;
}

static alloc_fn open_module(const char* path, void** handle) {
  *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (*handle == NULL) {
    fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
    exit(2);
  }
  return (alloc_fn)(uintptr_t)dlsym(*handle, "module_alloc");
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  void* handle;
  alloc_fn first = open_module(argv[1], &handle);
  for (int i = 0; i < 5; ++i) free(call_module(first, 1111));
  uintptr_t first_at = (uintptr_t)first;
  dlclose(handle);
  alloc_fn second = open_module(argv[2], &handle);
  for (int i = 0; i < 3; ++i) sink[i] = call_module(second, 2222);
  printf("same address: %s\n", (uintptr_t)second == first_at ? "yes" : "no");
  return 0;
}
