// MALLOCTYPE=user:NAME: a library of the program's own (NAME.so or a path) serves every call of the
// malloc family through AIX's replacement interface (__malloc__, __free__...). Loaded once at
// start-up (runtime.cpp); requests.cpp sends the calls here on the path it keeps for the debug
// layers.
#pragma once

#include <cstddef>

struct mallinfo;

namespace aixmalloc::rt::replacement {

// True once the replacement serves the calls; set before the runtime is ready, never cleared.
inline bool g_on = false;
// True while the library is loaded and its start and init hooks run, on the starter thread; its
// requests are then served from the bootstrap area and noted (note_loading_request).
inline bool g_loading = false;
// The replacement's entry point this thread is running, or nullptr.
inline thread_local const char* t_inside = nullptr;

// Loads `name`; false, with one line on stderr, when the library cannot be loaded, lacks a required
// symbol or calls malloc while it is loaded. Called at start-up, with no allocator lock held.
bool load(const char* name);
void note_loading_request();

// A call the replacement's own code made while it serves one: serving it there would recurse
// (and deadlock on its lock), so the default policy serves it; the first one is reported.
void report_reentry();
inline bool reentered() {
  if (__builtin_expect(t_inside == nullptr, 1)) return false;
  report_reentry();
  return true;
}

void* allocate(size_t size);
void* allocate_zeroed(size_t count, size_t size);
void* reallocate(void* p, size_t size);
void release(void* p);
// __posix_memalign__ is optional: without it the default policy serves aligned requests, and free
// finds those blocks in the address map.
bool has_aligned();
void* allocate_aligned(size_t align, size_t size);
void info(struct mallinfo* out);
int option(int command, int value);
void fork_prepare();
void fork_after();  // in the parent and in the child

}  // namespace aixmalloc::rt::replacement
