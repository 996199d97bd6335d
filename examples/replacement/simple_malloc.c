/* An example replacement for MALLOCTYPE=user: (see aixmalloc(3), "User-defined replacement"):
 * power-of-two classes from 16 bytes to 1 MiB carved from 4 MiB chunks, larger blocks mapped on
 * their own, one mutex. It never calls malloc, and counts the calls of each entry point.
 *
 *   cc -shared -fPIC -O2 -o simple_malloc.so simple_malloc.c -lpthread
 *   MALLOCTYPE=user:./simple_malloc.so LD_PRELOAD=libaixmalloc.so program
 *
 * simple_malloc_calls("__malloc__") returns how many calls that entry point has had. Built with
 * -DSIMPLE_MALLOC_NO_MEMALIGN it leaves out the optional __posix_memalign__, and aixmalloc's default
 * policy serves the aligned requests. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define MIN_SHIFT 4  /* 16 bytes */
#define MAX_SHIFT 20 /* 1 MiB: larger requests get a mapping of their own */
#define CHUNK (4u << 20)
#define HEADER 16
#define MAPPED 0xffu   /* header class of a block with its own mapping */
#define ALIGNED 0xfeu  /* header of an aligned pointer inside a larger block */

/* The 16 bytes before every pointer handed out. */
struct header {
  size_t cls;   /* class index, MAPPED or ALIGNED */
  size_t size;  /* MAPPED: bytes mapped; ALIGNED: distance back to the block's own pointer */
};
struct free_block {
  struct free_block* next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct free_block* lists[MAX_SHIFT + 1];
static char *chunk_next, *chunk_end;
static size_t bytes_mapped, bytes_in_use;

enum { C_MALLOC, C_FREE, C_REALLOC, C_CALLOC, C_MALLINFO, C_MALLOPT, C_INIT, C_START, C_PREFORK, C_POSTFORK,
       C_MEMALIGN, C_COUNT };
static const char* const names[C_COUNT] = {
    "__malloc__", "__free__", "__realloc__", "__calloc__", "__mallinfo__", "__mallopt__", "__malloc_init__",
    "__malloc_start__", "__malloc_prefork_lock__", "__malloc_postfork_unlock__", "__posix_memalign__"};
static unsigned long counts[C_COUNT];
#define COUNT(c) __atomic_add_fetch(&counts[c], 1, __ATOMIC_RELAXED)

unsigned long simple_malloc_calls(const char* entry) {
  for (int i = 0; i < C_COUNT; ++i)
    if (strcmp(names[i], entry) == 0) return __atomic_load_n(&counts[i], __ATOMIC_RELAXED);
  return 0;
}

static struct header* header_of(void* p) { return (struct header*)((char*)p - HEADER); }

static unsigned class_of(size_t size) {
  unsigned c = MIN_SHIFT;
  while (((size_t)1 << c) < size + HEADER) ++c;
  return c;
}

static void* map(size_t size) {
  void* p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static void* allocate(size_t size) {
  if (size > ((size_t)1 << MAX_SHIFT) - HEADER) {
    size_t total = (size + HEADER + 4095) & ~(size_t)4095;
    if (total < size) return NULL;
    struct header* h = map(total);
    if (h == NULL) return NULL;
    h->cls = MAPPED;
    h->size = total;
    __atomic_add_fetch(&bytes_mapped, total, __ATOMIC_RELAXED);
    __atomic_add_fetch(&bytes_in_use, total, __ATOMIC_RELAXED);
    return (char*)h + HEADER;
  }
  unsigned c = class_of(size);
  size_t block = (size_t)1 << c;
  struct header* h;
  pthread_mutex_lock(&lock);
  if (lists[c] != NULL) {
    h = (struct header*)lists[c];
    lists[c] = lists[c]->next;
  } else {
    if (chunk_next == NULL || (size_t)(chunk_end - chunk_next) < block) {
      char* chunk = map(CHUNK);
      if (chunk == NULL) {
        pthread_mutex_unlock(&lock);
        return NULL;
      }
      bytes_mapped += CHUNK;
      chunk_next = chunk;
      chunk_end = chunk + CHUNK;
    }
    h = (struct header*)chunk_next;
    chunk_next += block;
  }
  bytes_in_use += block;
  pthread_mutex_unlock(&lock);
  h->cls = c;
  h->size = 0;
  return (char*)h + HEADER;
}

static void release(void* p) {
  if (p == NULL) return;
  struct header* h = header_of(p);
  if (h->cls == ALIGNED) {
    p = (char*)p - h->size;
    h = header_of(p);
  }
  if (h->cls == MAPPED) {
    __atomic_sub_fetch(&bytes_mapped, h->size, __ATOMIC_RELAXED);
    __atomic_sub_fetch(&bytes_in_use, h->size, __ATOMIC_RELAXED);
    munmap(h, h->size);
    return;
  }
  pthread_mutex_lock(&lock);
  struct free_block* f = (struct free_block*)h;
  f->next = lists[h->cls];
  lists[h->cls] = f;
  bytes_in_use -= (size_t)1 << h->cls;
  pthread_mutex_unlock(&lock);
}

/* What a block can hold from p on. */
static size_t usable(void* p) {
  struct header* h = header_of(p);
  size_t back = 0;
  if (h->cls == ALIGNED) {
    back = h->size;
    h = header_of((char*)p - back);
  }
  size_t total = h->cls == MAPPED ? h->size : (size_t)1 << h->cls;
  return total - HEADER - back;
}

void* __malloc__(size_t size) {
  COUNT(C_MALLOC);
  void* p = allocate(size);
  if (p == NULL) errno = ENOMEM;
  return p;
}

void __free__(void* p) {
  COUNT(C_FREE);
  release(p);
}

void* __realloc__(void* p, size_t size) {
  COUNT(C_REALLOC);
  if (p == NULL) return allocate(size);
  if (size == 0) {
    release(p);
    return NULL;
  }
  size_t old = usable(p);
  if (size <= old) return p;
  void* q = allocate(size);
  if (q == NULL) {
    errno = ENOMEM;
    return NULL;
  }
  memcpy(q, p, old);
  release(p);
  return q;
}

void* __calloc__(size_t count, size_t size) {
  COUNT(C_CALLOC);
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) {
    errno = ENOMEM;
    return NULL;
  }
  void* p = allocate(total);
  if (p == NULL) {
    errno = ENOMEM;
    return NULL;
  }
  memset(p, 0, total);
  return p;
}

#ifndef SIMPLE_MALLOC_NO_MEMALIGN
int __posix_memalign__(void** out, size_t align, size_t size) {
  COUNT(C_MEMALIGN);
  if (align == 0 || (align & (align - 1)) != 0) return EINVAL;
  if (align <= HEADER) align = HEADER;
  if (size > SIZE_MAX - align - HEADER) return ENOMEM;
  char* p = allocate(size + align + HEADER);
  if (p == NULL) return ENOMEM;
  char* q = (char*)(((uintptr_t)p + HEADER + align - 1) & ~(uintptr_t)(align - 1));
  if (q != p) {
    header_of(q)->cls = ALIGNED;
    header_of(q)->size = (size_t)(q - p);
  }
  *out = q;
  return 0;
}
#endif

struct mallinfo __mallinfo__(void) {
  COUNT(C_MALLINFO);
  struct mallinfo m;
  memset(&m, 0, sizeof m);
  size_t mapped = __atomic_load_n(&bytes_mapped, __ATOMIC_RELAXED);
  size_t used = __atomic_load_n(&bytes_in_use, __ATOMIC_RELAXED);
  m.arena = (int)(mapped > 0x7fffffff ? 0x7fffffff : mapped);
  m.uordblks = (int)(used > 0x7fffffff ? 0x7fffffff : used);
  m.fordblks = m.arena - m.uordblks;
  return m;
}

int __mallopt__(int command, int value) {
  (void)command;
  (void)value;
  COUNT(C_MALLOPT);
  return 0;
}

void __malloc_start__(void) { COUNT(C_START); }
void __malloc_init__(void) { COUNT(C_INIT); }

/* fork(): the lock is held across it, so the child's lists are whole; both sides release it. */
void __malloc_prefork_lock__(void) {
  COUNT(C_PREFORK);
  pthread_mutex_lock(&lock);
}
void __malloc_postfork_unlock__(void) {
  COUNT(C_POSTFORK);
  pthread_mutex_unlock(&lock);
}
