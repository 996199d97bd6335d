// What the tests of the runtime share (runtime_test.cpp and the components tested through the
// exported malloc: pool, multiheap, disclaim, large blocks). They run in one executable, linked
// with libaixmalloc.a, once per configuration of tests/CMakeLists.txt.
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstddef>

namespace aixmalloc::testing {

// Keeps the compiler from reasoning about a pointer's provenance (it would warn about, or
// optimise, a free of a stack address or a double free it can see).
inline void* launder(void* p) {
  asm volatile("" : "+r"(p));
  return p;
}

// The configuration this test process runs under (set per ctest entry through the environment).
inline bool configured(const char* option) {
  const char* o = getenv("MALLOCOPTIONS");
  return o && strstr(o, option);
}

// Whether the thread cache serves this configuration: on by default under Watson, opt-in under
// Yorktown, never under 3.1 or watson2 (whose tuning options are ignored).
inline bool thread_cache_on() {
  const char* type = getenv("MALLOCTYPE");
  if (type && (strstr(type, "3.1") || strcasecmp(type, "watson2") == 0)) return false;
  if (configured("threadcache:off")) return false;
  return configured("threadcache") || (type && strcasestr(type, "watson"));
}

// The process's resident memory, in bytes.
inline size_t resident_bytes() {
  FILE* f = fopen("/proc/self/statm", "r");
  unsigned long size = 0, resident = 0;
  EXPECT_EQ(fscanf(f, "%lu %lu", &size, &resident), 2);
  fclose(f);
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace aixmalloc::testing
