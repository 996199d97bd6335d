/* Replacements for MALLOCTYPE=user: that must be refused, or that misbehave, one per macro:
 * FAULT_MISSING lacks __mallinfo__; FAULT_CONSTRUCTOR calls malloc from a constructor; FAULT_INIT
 * from __malloc_init__; FAULT_FORWARD's entry points call malloc, free... themselves. */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

void* __malloc__(size_t size) {
#ifdef FAULT_FORWARD
  return malloc(size);
#else
  (void)size;
  return NULL;
#endif
}
void __free__(void* p) {
#ifdef FAULT_FORWARD
  free(p);
#else
  (void)p;
#endif
}
void* __realloc__(void* p, size_t size) {
#ifdef FAULT_FORWARD
  return realloc(p, size);
#else
  (void)p;
  (void)size;
  return NULL;
#endif
}
void* __calloc__(size_t count, size_t size) {
#ifdef FAULT_FORWARD
  return calloc(count, size);
#else
  (void)count;
  (void)size;
  return NULL;
#endif
}
#ifndef FAULT_MISSING
struct mallinfo __mallinfo__(void) {
  struct mallinfo m;
  memset(&m, 0, sizeof m);
  return m;
}
#endif
int __mallopt__(int command, int value) {
  (void)command;
  (void)value;
  return 0;
}
void __malloc_init__(void) {
#ifdef FAULT_INIT
  void* volatile p = malloc(24);
  (void)p;
#endif
}
void __malloc_prefork_lock__(void) {}
void __malloc_postfork_unlock__(void) {}

#ifdef FAULT_CONSTRUCTOR
__attribute__((constructor)) static void allocate_at_load(void) {
  void* volatile p = malloc(40);
  (void)p;
}
#endif
