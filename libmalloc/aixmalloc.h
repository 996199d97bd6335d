/* aixmalloc: the public header of the AIX-compatible malloc runtime.
 *
 * The ordinary malloc family keeps glibc's declarations (<stdlib.h>, <malloc.h>); this header
 * declares what aixmalloc adds. See aixmalloc(3). */
#ifndef AIXMALLOC_H
#define AIXMALLOC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* mallopt() commands with AIX's numbers and meanings (AIX <malloc.h>). */
#define AIXMALLOC_M_MXFAST 1   /* 0: default policy, 1: 3.1 policy; before the first allocation */
#define AIXMALLOC_M_DISCLAIM 5 /* 0: give every whole free page back to the system now */
#define AIXMALLOC_M_MALIGN 6   /* n: malloc returns n-aligned memory from now on */

/* AIX's per-heap figures (its mallinfo_heap()), all unsigned long as in AIX's <malloc.h>. */
struct mallinfo_heap {
  unsigned long root_sz;    /* the largest free block */
  unsigned long acquired;   /* bytes obtained from the system for this heap, overhead included */
  unsigned long blks_alloc; /* blocks in the heap: allocated ones and free ones */
  unsigned long netalloc;   /* bytes currently allocated (acquired - bytes_free) */
  unsigned long bytes_free; /* bytes in the free structures */
};

/* Heap `heap` (0 .. number of heaps - 1) of a multiheap process; heap 0 otherwise. All fields are 0
 * for a heap number that does not exist. Never sets errno. */
struct mallinfo_heap mallinfo_heap(int heap);

/* The number of heaps the configuration gives this process (MALLOCOPTIONS=multiheap:n), 1 without
 * multiheap. */
int aixmalloc_heap_count(void);

/* How many times the calling thread has taken one of the allocator's locks. With
 * MALLOCOPTIONS=pool, malloc and free of 512 bytes or less take none once the thread's pool has
 * memory; this counter shows it. */
unsigned long aixmalloc_thread_lock_count(void);

/* How many of the allocator's locks the calling thread holds at this moment: 0 outside the
 * allocator. Meant for a signal handler that wants to know whether it interrupted the allocator
 * (a fork() from such a handler takes the path described in aixmalloc(7), "Fork").
 * Async-signal-safe. */
unsigned aixmalloc_thread_locks_held(void);

/* AIX's vector allocators: 16-byte aligned blocks, otherwise malloc and calloc. vec_realloc and
 * vec_free are realloc and free, as AIX's macros make them. */
void *vec_malloc(size_t size);
void *vec_calloc(size_t count, size_t size);

/* AIX's names for the malloc family under _LINUX_SOURCE_COMPAT: a zero size gets a pointer even
 * with AIXMALLOC_ZERO_SIZE=null (realloc(p, 0) still frees p and returns NULL, as glibc's). */
void *__linux_malloc(size_t size);
void *__linux_calloc(size_t count, size_t size);
void *__linux_realloc(void *p, size_t size);
void *__linux_valloc(size_t size);

/* Verifies every heap's invariants (tree order, heap order, no overlap, no two adjacent free
 * blocks, block sizes adding up to the memory acquired). Returns 0 when all hold; otherwise writes
 * one line naming the broken invariant and its address to stderr and returns -1. Takes each heap's
 * lock in turn; costs a walk of every block. */
int aixmalloc_check(void);

/* The Malloc Log (MALLOCDEBUG=log, report_allocations, record_allocations; aixmalloc(7)): one record
 * per heap, size and stack, counting the live allocations that share them, as AIX's <malloc.h>
 * declares it. callers[] holds the innermost MALLOC_LOG_STACKDEPTH return addresses, callers[0]
 * being the caller of malloc; a record of a deeper stack_depth shows its first four here (two
 * records that differ only deeper appear as two records with the same callers). */
#define MALLOC_LOG_STACKDEPTH 4
struct malloc_log {
  size_t size;
  size_t cnt;
  uintptr_t callers[MALLOC_LOG_STACKDEPTH];
};

/* Copies the records with live allocations of addr's heap (all heaps when addr is NULL) into buf,
 * as many whole records as bufsize bytes hold. Returns the bytes copied: 0 when the log is off, and
 * 0 with errno EINVAL when addr is not a pointer from malloc. */
size_t get_malloc_log(void* addr, void* buf, size_t bufsize);

/* The log's live record array (one for the process, whatever addr's heap), changing as the program
 * allocates and frees: records whose cnt is 0 have no live allocation; the array ends at the first
 * record whose callers[0] is 0. NULL when the log is off; NULL with errno EINVAL when addr is not a
 * pointer from malloc. The array never moves. */
struct malloc_log* get_malloc_log_live(void* addr);

/* Clears the records of addr's heap (all heaps when addr is NULL): the allocations live now are
 * forgotten (their later free changes nothing) and every count of the heap's records becomes 0.
 * errno EINVAL when addr is not a pointer from malloc. */
void reset_malloc_log(void* addr);

#ifdef __cplusplus
}
#endif

#endif /* AIXMALLOC_H */
