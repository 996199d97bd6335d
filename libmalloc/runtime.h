// The runtime: the configured stack, assembled once at start-up from the Config, and the semantics
// of the malloc family on top of it (errno, overflow checks, glibc's corner cases). The exported
// symbols in entry.cpp and entry_cxx.cpp only forward here.
//
// Path of a request:  entry point -> runtime (start-up check, size routing)
//                       -> large (>= kLargeThreshold): a range of its own (base/large_blocks.h)
//                       -> otherwise: the heap's policy (Yorktown | ...) under the heap's lock
// free(p) starts from the address map: the owner word says bootstrap, large block or heap.
#pragma once

#include <atomic>
#include <cstddef>

#include "libmalloc/config.h"
#include "libmalloc/stats.h"

namespace aixmalloc::rt {

// True while the pool serves small requests (MALLOCOPTIONS=pool, default alignment). The exported
// malloc and free run the pool's fast path themselves, inline, and call in here otherwise.
extern std::atomic<bool> g_pool_fast;

void* allocate(size_t size);                      // malloc
void* allocate_zeroed(size_t count, size_t size);  // calloc
void* allocate_aligned(size_t align, size_t size); // align: a power of two
void release(void* p, const char* call);          // free and the delete operators
void* reallocate(void* p, size_t size);            // realloc (glibc: size 0 frees, returns NULL)
size_t usable_size(void* p);

// mallopt: AIX's commands (M_MXFAST 0/1, M_DISCLAIM, M_MALIGN) with AIX's return values, glibc's
// commands accepted without effect with glibc's. See aixmalloc(3).
int mallopt(int command, int value);
// Gives every whole free page back to the OS; true when any was.
bool trim();

void snapshot(Snapshot* out);
// Runs every heap's check(); false with the reason in *why when an invariant is broken.
bool check(Text* why);
const Config& config();  // starts the runtime if needed

// Exposed for tests of the start-up path.
bool started();

}  // namespace aixmalloc::rt
