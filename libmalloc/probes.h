// USDT probes (aixmalloc:malloc, calloc, realloc, free, memalign) that perf, bpftrace and
// SystemTap attach to in a running process, without MALLOCDEBUG. A probe is one nop at its site
// and an ELF note (readelf -n: stapsdt) naming its arguments' registers; no semaphore, so a probe
// nobody attached to costs the nop and keeping its arguments live, nothing else.
//
//   aixmalloc:malloc    size, result         aixmalloc:free      pointer
//   aixmalloc:calloc    count, size, result  aixmalloc:memalign  alignment, size, result
//   aixmalloc:realloc   pointer, size, result
//
// Built without <sys/sdt.h> (Debian: systemtap-sdt-dev), the probes are left out.
#pragma once

#if __has_include(<sys/sdt.h>)
#include <sys/sdt.h>
#define AIXMALLOC_PROBE1(name, a) STAP_PROBE1(aixmalloc, name, a)
#define AIXMALLOC_PROBE2(name, a, b) STAP_PROBE2(aixmalloc, name, a, b)
#define AIXMALLOC_PROBE3(name, a, b, c) STAP_PROBE3(aixmalloc, name, a, b, c)
#else
#define AIXMALLOC_PROBE1(name, a) ((void)0)
#define AIXMALLOC_PROBE2(name, a, b) ((void)0)
#define AIXMALLOC_PROBE3(name, a, b, c) ((void)0)
#endif
