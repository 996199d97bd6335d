/* aixmalloc: the public header of the AIX-compatible malloc runtime.
 *
 * The ordinary malloc family keeps glibc's declarations (<stdlib.h>, <malloc.h>); this header
 * declares what aixmalloc adds. See aixmalloc(3). */
#ifndef AIXMALLOC_H
#define AIXMALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* mallopt() commands with AIX's numbers and meanings (AIX <malloc.h>). */
#define AIXMALLOC_M_MXFAST 1   /* 0: default policy, 1: 3.1 policy; before the first allocation */
#define AIXMALLOC_M_DISCLAIM 5 /* 0: give every whole free page back to the system now */
#define AIXMALLOC_M_MALIGN 6   /* n: malloc returns n-aligned memory from now on */

/* Verifies every heap's invariants (tree order, heap order, no overlap, no two adjacent free
 * blocks, block sizes adding up to the memory acquired). Returns 0 when all hold; otherwise writes
 * one line naming the broken invariant and its address to stderr and returns -1. Takes each heap's
 * lock in turn; costs a walk of every block. */
int aixmalloc_check(void);

#ifdef __cplusplus
}
#endif

#endif /* AIXMALLOC_H */
