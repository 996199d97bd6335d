// The caller of the malloc-family call in progress, for the debug tools that choose or record by
// call site (MALLOCDEBUG functionset, and the Malloc Log's first frame). The exported entry points
// note their return address here, and only while a tool asks for it (one predictable branch
// otherwise, off the pool's fast path).
#pragma once

namespace aixmalloc::caller {

inline bool g_wanted = false;  // set at start-up by a tool that reads the caller
inline thread_local const void* t_caller = nullptr;

inline void note(const void* return_address) {
  if (__builtin_expect(g_wanted, 0)) t_caller = return_address;
}
inline const void* current() { return t_caller; }

}  // namespace aixmalloc::caller
