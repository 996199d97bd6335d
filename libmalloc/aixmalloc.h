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

#ifdef __cplusplus
}
#endif

#endif /* AIXMALLOC_H */
