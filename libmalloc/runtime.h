// The runtime: the configured stack, assembled once at start-up from the Config, and the semantics
// of the malloc family on top of it (errno, overflow checks, glibc's corner cases). The exported
// symbols in entry.cpp and entry_cxx.cpp only forward here.
//
// Path of a request:  entry point -> runtime (start-up check, size routing)
//                       -> large (>= kLargeThreshold): a range of its own (base/large_blocks.h)
//                       -> otherwise: the heap's policy (Yorktown | ...) under the heap's lock
// free(p) starts from the address map: the owner word says bootstrap, large block or heap.
#pragma once

#include <signal.h>

#include <atomic>
#include <cstddef>

#include "libmalloc/base/caller.h"
#include "libmalloc/base/config.h"
#include "libmalloc/probes.h"
#include "libmalloc/stats.h"
#include "options/catch_overflow.h"
#include "options/pool.h"
#include "policies/watson2.h"

struct mallinfo;

namespace aixmalloc::rt {

void* allocate(size_t size);                      // malloc
void* allocate_zeroed(size_t count, size_t size);  // calloc
void* allocate_aligned(size_t align, size_t size); // align: a power of two
void release(void* p, const char* call);          // free and the delete operators
void* reallocate(void* p, size_t size);            // realloc (glibc: size 0 frees, returns NULL)
size_t usable_size(void* p);
// AIXMALLOC_ZERO_SIZE=null: malloc(0), calloc with a zero, realloc(NULL, 0) and valloc(0) return
// NULL, as on AIX; the __linux_ forms and the C++ operators still return a pointer.
bool zero_size_null();
// MALLOCTYPE=user:: true, with the replacement's __mallinfo__ in *out, when one serves the calls.
bool replacement_info(struct ::mallinfo* out);

// mallopt: AIX's commands (M_MXFAST 0/1, M_DISCLAIM, M_MALIGN) with AIX's return values, glibc's
// commands accepted without effect with glibc's. See aixmalloc(3).
int mallopt(int command, int value);
// Gives every whole free page back to the OS; true when any was.
bool trim();

// sigaction(2) for the program: through catch_overflow's handler when it is on (stack.h).
int set_signal_action(int sig, const struct ::sigaction* act, struct ::sigaction* old);

void snapshot(Snapshot* out);
// Runs every heap's check(); false with the reason in *why when an invariant is broken.
bool check(Text* why);
const Config& config();  // starts the runtime if needed

// Exposed for tests of the start-up path.
bool started();

// The one exception to "the entry points only forward" (DESIGN.md): the first layer's fast path,
// inlined into malloc, free and the C++ operators. Its code is the pool's (options/pool.h); what
// the pool does not serve goes to the layers below it. Each inline path is one compare of a word
// the pool keeps (fast_below, fast_span) and the pool's list operation, with no stack frame: what
// leaves it is a tail call.
//
// A pool request whose list is empty: the pool's slow path, then the layers below the pool.
void* allocate_pool_miss(size_t size);
// Every malloc the inline path does not take: the sampled mode of catch_overflow (which keeps the
// pool's path while it counts its sample down), then the whole stack. `return_address`: the
// entry point's, for the debug tools that ask for it (caller.h). A thunk (requests.cpp): reached
// by malloc's tail call, it notes the program's frame as the noted entry points do; reached by a
// call, only the return address.
void* allocate_off_fast(size_t size, const void* return_address);
// The same without noting anything: for the entry points whose thunk has noted the frame.
extern "C" [[gnu::visibility("hidden")]] void* aixmalloc_allocate_off_fast(size_t size,
                                                                         const void* return_address);
// The same from the exported malloc, which has not touched its frame (its inline paths use scratch
// registers only): the return address is the program's, at the top of the stack, and the thunk
// reads it itself, sparing malloc's inline paths the load. The Malloc Log's tests check the
// stacks it then records (tests/preload/malloc_log_test.sh).
void* allocate_off_fast_tail(size_t size);
// MALLOCTYPE=watson2's inline path (policies/watson2.h); a miss goes to watson2's slow path, then
// the layers below it.
void* allocate_watson2_miss(size_t size);

// The pool and watson2 are never both on (the pool is an option of Yorktown and Watson). malloc
// tests watson2's word first, then the pool's: two instructions each. free's tests take four each:
// it jumps to the path of the configuration instead (g_release), chosen once at start-up: both
// tests (before the runtime knows its configuration, and the C++ operators' delete), the pool's,
// watson2's, or none.
enum class Inline { kBoth, kPool, kWatson2, kNone };
// free is a jump through this (entry.cpp); set by the runtime as it starts.
extern std::atomic<void (*)(void*)> g_release;
void choose_release_path(bool log_alone);
// free's path while MALLOCDEBUG=log is the one debug layer (g_log_alone; requests.cpp): none of
// the inline tests, which cannot pass then, nor release()'s.
void release_logged_entry(void* p);

// kNoted: the entry point's thunk has noted the caller already (the C++ operators). kTail: the
// exported malloc (return_address unused: the thunk reads it).
template <bool kNoted = false, bool kTail = false>
[[gnu::always_inline]] inline void* allocate_fast(size_t size, const void* return_address) {
  if (__builtin_expect(size < plain(watson2::g_area.fast_below), 1)) {
    if (void* p = watson2::pop(size)) {
      AIXMALLOC_PROBE2(malloc, size, p);  // the other paths' probes: requests.cpp
      return p;
    }
    return allocate_watson2_miss(size);
  }
  if (__builtin_expect(size < plain(pool::g_area.fast_below), 1)) {
    if (void* p = pool::pop(size)) {
      AIXMALLOC_PROBE2(malloc, size, p);
      return p;
    }
    return allocate_pool_miss(size);
  }
  if constexpr (kTail)
    return allocate_off_fast_tail(size);
  else if constexpr (kNoted)
    return aixmalloc_allocate_off_fast(size, return_address);
  else
    return allocate_off_fast(size, return_address);
}
// While the pool's fast path is off (MALLOCDEBUG's layers, or mallopt(M_MALIGN)), fast_span is 0
// and pool blocks too go down the stack, so that every layer above the pool sees them. Without the
// free probe: realloc's free of a moved block takes this way too (requests.cpp).
template <Inline kWhich = Inline::kBoth>
[[gnu::always_inline]] inline void release_inline(void* p, const char* call) {
  if constexpr (kWhich == Inline::kBoth || kWhich == Inline::kPool)
    if (pool::owns_fast(p)) return pool::release(p, call);
  if constexpr (kWhich == Inline::kBoth || kWhich == Inline::kWatson2)
    if (watson2::owns_fast(p)) return watson2::release(p, call);
  release(p, call);
}
template <Inline kWhich = Inline::kBoth>
[[gnu::always_inline]] inline void release_fast(void* p, const char* call) {
  AIXMALLOC_PROBE1(free, p);
  release_inline<kWhich>(p, call);
}

}  // namespace aixmalloc::rt
