// The exported C entry points: glibc's signatures, errno behaviour and aliases. No logic here
// beyond argument checks that glibc makes at the boundary; everything forwards to the runtime.
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "libmalloc/aixmalloc.h"
#include "libmalloc/base/caller.h"
#include "libmalloc/base/format.h"
#include "libmalloc/base/lock.h"
#include "libmalloc/base/os.h"
#include "libmalloc/base/platform.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/runtime.h"

#define AIX_EXPORT extern "C" __attribute__((visibility("default")))
#define AIX_ALIAS(name) __attribute__((alias(#name), used, visibility("default")))
// An exported entry point whose caller the debug tools may read: the symbol is a thunk that notes
// the program's frame (caller.h) and jumps to the body that follows, a hidden function.
// (The thunk names its parameters only to declare the same ones as its body.)
#define AIX_NOTED(type, name, params)                                                  \
  extern "C" __attribute__((visibility("hidden"))) type aixmalloc_entry_##name params; \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wunused-parameter\"") \
  AIX_EXPORT __attribute__((naked)) type name params {                                 \
    AIXMALLOC_NOTING_THUNK(aixmalloc_entry_##name);                                    \
  }                                                                                    \
  _Pragma("GCC diagnostic pop")                                                        \
  extern "C" type aixmalloc_entry_##name params

using namespace aixmalloc;

// malloc runs the inline paths of watson2 (policies/watson2.h) and the pool (options/pool.h) here;
// free jumps to the one of its configuration (rt::Inline). Everything the inline path does not
// serve is a tail call into the runtime, whose stack runs the slow path once. free() keeps errno as
// it was: every system call it can reach (madvise, munmap, futex) goes through base's OS
// interface, which saves and restores errno (os.cpp).
AIX_EXPORT void* malloc(size_t size) { return rt::allocate_fast<false, true>(size, nullptr); }

AIX_EXPORT void free(void* p) { rt::g_release.load(std::memory_order_relaxed)(p); }

namespace aixmalloc::rt {
namespace {

// Reached by free's jump: its caller's frame is the program's.
template <Inline kWhich>
void release_entry(void* p) {
  release_fast<kWhich>(p, "free");
}

}  // namespace

constinit std::atomic<void (*)(void*)> g_release{release_entry<Inline::kBoth>};

// At start-up and when mallopt(M_MXFAST) builds the stack again: the inline paths of the layers
// whose area exists (each still tests its own word, fast_span, on every call), or the Malloc
// Log's path when it is the one debug layer (the inline paths are off then).
void choose_release_path(bool log_alone) {
  bool pool_on = pool::enabled(), watson2_on = watson2::g_area.enabled;
  void (*release)(void*) = log_alone             ? release_logged_entry
                           : pool_on && watson2_on ? release_entry<Inline::kBoth>
                           : pool_on             ? release_entry<Inline::kPool>
                           : watson2_on          ? release_entry<Inline::kWatson2>
                                                 : release_entry<Inline::kNone>;
  g_release.store(release, std::memory_order_relaxed);
}

}  // namespace aixmalloc::rt

AIX_NOTED(void*, calloc, (size_t count, size_t size)) {
  return rt::allocate_zeroed(count, size);
}

AIX_NOTED(void*, realloc, (void* p, size_t size)) {
  return rt::reallocate(p, size);
}

AIX_NOTED(void*, reallocarray, (void* p, size_t count, size_t size)) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  return rt::reallocate(p, total);
}

// As glibc: an alignment above 2^63 cannot be a power of two and is EINVAL; any other that is not
// one is rounded up to the next; then a size that cannot be had is ENOMEM, whatever the alignment
// (2^63 included).
AIX_NOTED(void*, memalign, (size_t align, size_t size)) {
  if (align > (size_t{1} << 63)) {
    errno = EINVAL;
    return nullptr;
  }
  if (!is_power_of_two(align)) align = align == 0 ? 1 : size_t{1} << (64 - __builtin_clzll(align));
  return rt::allocate_aligned(align, size);
}

// As glibc: an invalid alignment is returned as EINVAL with errno untouched; a size that cannot be
// had is returned as ENOMEM and leaves errno at ENOMEM as well.
AIX_NOTED(int, posix_memalign, (void** out, size_t align, size_t size)) {
  if (!is_power_of_two(align) || align % sizeof(void*) != 0) return EINVAL;
  void* p = rt::allocate_aligned(align, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

// C11: an alignment that is not a power of two is invalid (glibc 2.38 and later agree).
AIX_NOTED(void*, aligned_alloc, (size_t align, size_t size)) {
  if (!is_power_of_two(align)) {
    errno = EINVAL;
    return nullptr;
  }
  return rt::allocate_aligned(align, size);
}

AIX_NOTED(void*, valloc, (size_t size)) {
  if (size == 0 && rt::zero_size_null()) return nullptr;
  return rt::allocate_aligned(page_size(), size);
}

// AIX's vector allocators: 16-byte aligned, as every block of ours is; otherwise malloc and calloc
// (zero sizes included). vec_realloc and vec_free are macros for realloc and free on AIX.
AIX_NOTED(void*, vec_malloc, (size_t size)) {
  return rt::allocate(size);
}

AIX_NOTED(void*, vec_calloc, (size_t count, size_t size)) {
  return rt::allocate_zeroed(count, size);
}

AIX_NOTED(void*, pvalloc, (size_t size)) {
  size_t page = page_size();
  size_t rounded = align_up(size, page);
  if (rounded < size) {
    errno = ENOMEM;
    return nullptr;
  }
  return rt::allocate_aligned(page, rounded == 0 ? page : rounded);
}

AIX_EXPORT size_t malloc_usable_size(void* p) { return rt::usable_size(p); }

AIX_EXPORT int mallopt(int command, int value) { return rt::mallopt(command, value); }

AIX_EXPORT int malloc_trim(size_t) { return rt::trim() ? 1 : 0; }

namespace {

struct mallinfo2 fill_mallinfo2() {
  Snapshot s;
  rt::snapshot(&s);
  struct mallinfo2 mi = {};
  uint64_t free_blocks = 0, largest = 0;
  for (unsigned i = 0; i < s.heaps; ++i) {
    free_blocks += s.heap[i].free_blocks;
    if (s.heap[i].largest_free > largest) largest = s.heap[i].largest_free;
  }
  // Heaps and pool pages: glibc's "arena"; large blocks are its hblkhd.
  mi.arena = s.totals.acquired - s.large.bytes;
  mi.ordblks = free_blocks;
  mi.hblks = s.large.blocks;
  mi.hblkhd = s.large.bytes;
  mi.usmblks = 0;
  mi.uordblks = s.totals.in_use;
  mi.fordblks = s.totals.free_bytes;
  mi.keepcost = largest;
  return mi;
}

int clamp_int(size_t v) { return v > 0x7fffffff ? 0x7fffffff : static_cast<int>(v); }

}  // namespace

AIX_EXPORT struct mallinfo2 mallinfo2() {
  struct mallinfo r;
  if (!rt::replacement_info(&r)) return fill_mallinfo2();
  struct mallinfo2 mi = {};  // MALLOCTYPE=user: the replacement's figures
  mi.arena = static_cast<unsigned>(r.arena);
  mi.ordblks = static_cast<unsigned>(r.ordblks);
  mi.smblks = static_cast<unsigned>(r.smblks);
  mi.hblks = static_cast<unsigned>(r.hblks);
  mi.hblkhd = static_cast<unsigned>(r.hblkhd);
  mi.usmblks = static_cast<unsigned>(r.usmblks);
  mi.fsmblks = static_cast<unsigned>(r.fsmblks);
  mi.uordblks = static_cast<unsigned>(r.uordblks);
  mi.fordblks = static_cast<unsigned>(r.fordblks);
  mi.keepcost = static_cast<unsigned>(r.keepcost);
  return mi;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
AIX_EXPORT struct mallinfo mallinfo() {
  struct mallinfo mi = {};
  if (rt::replacement_info(&mi)) return mi;
  struct mallinfo2 m = fill_mallinfo2();
  mi.arena = clamp_int(m.arena);
  mi.ordblks = clamp_int(m.ordblks);
  mi.hblks = clamp_int(m.hblks);
  mi.hblkhd = clamp_int(m.hblkhd);
  mi.uordblks = clamp_int(m.uordblks);
  mi.fordblks = clamp_int(m.fordblks);
  mi.keepcost = clamp_int(m.keepcost);
  return mi;
}
#pragma GCC diagnostic pop

AIX_EXPORT void malloc_stats() {
  Snapshot s;
  rt::snapshot(&s);
  TextBuf<4096> out;
  render_malloc_stats(s, out, STDERR_FILENO);
}

// Written to the caller's FILE* only after every allocator lock has been dropped: stdio may
// allocate (DESIGN.md invariant 5).
AIX_EXPORT int malloc_info(int options, FILE* fp) {
  if (options != 0) {
    errno = EINVAL;
    return -1;
  }
  Snapshot s;
  rt::snapshot(&s);
  char buf[8192];
  Text out(buf, sizeof(buf));
  render_malloc_info(s, out);
  fwrite(out.data(), 1, out.size(), fp);
  return 0;
}

AIX_EXPORT struct mallinfo_heap mallinfo_heap(int heap) {
  struct mallinfo_heap m = {};
  Snapshot s;
  rt::snapshot(&s);
  if (heap < 0 || static_cast<unsigned>(heap) >= s.heaps) return m;
  const HeapFigures& h = s.heap[heap];
  m.root_sz = h.largest_free;
  m.acquired = h.acquired;
  m.blks_alloc = h.active + h.free_blocks;
  m.netalloc = h.held;
  m.bytes_free = h.free_bytes;
  return m;
}

AIX_EXPORT int aixmalloc_heap_count(void) {
  Snapshot s;
  rt::snapshot(&s);
  return static_cast<int>(s.heaps);
}

AIX_EXPORT unsigned long aixmalloc_thread_lock_count(void) { return t_lock_acquisitions; }

AIX_EXPORT unsigned aixmalloc_thread_locks_held(void) { return t_locks_held; }

AIX_EXPORT int aixmalloc_check(void) {
  TextBuf<256> why;
  if (rt::check(&why)) return 0;
  warn(why.data(), why.size());
  return -1;
}

// glibc's internal names, which some programs and libraries call directly. The aliases repeat the
// targets' attributes from glibc's headers only in part, which GCC reports; the symbols are the same.
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmissing-attributes"
#endif
// pthread_join: under MALLOCTYPE=watson2 the waiting thread first leaves its heap to the threads
// that run meanwhile (policies/watson2.cpp, park()): a main thread that allocates a server's
// state, starts the workers and waits for them would otherwise keep every page whose blocks they
// free, since only its own next call takes those frees back. Then libc's, the next definition
// after ours; dlsym may allocate, and no lock of ours is held here.
AIX_EXPORT int pthread_join(pthread_t thread, void** result) {
  using Join = int (*)(pthread_t, void**);
  static std::atomic<Join> real{nullptr};
  Join f = real.load(std::memory_order_acquire);
  if (f == nullptr) {
    f = reinterpret_cast<Join>(dlsym(RTLD_NEXT, "pthread_join"));
    if (f == nullptr) return ENOSYS;
    real.store(f, std::memory_order_release);
  }
  watson2::park();
  return f(thread, result);
}

// Signal handlers: MALLOCDEBUG=catch_overflow keeps its SIGSEGV and SIGBUS handler first, and runs
// the program's after its report (or, with override_signal_handling, not for its faults); every
// other signal, and every signal when catch_overflow is off, goes straight to the system.
AIX_EXPORT int sigaction(int sig, const struct sigaction* act, struct sigaction* old) {
  return rt::set_signal_action(sig, act, old);
}

// signal() and its relatives as glibc defines them, on sigaction() above.
namespace {
sighandler_t install_handler(int sig, sighandler_t handler, int flags) {
  struct sigaction act, old;
  memset(&act, 0, sizeof act);
  act.sa_handler = handler;
  act.sa_flags = flags;
  sigemptyset(&act.sa_mask);
  if (flags == SA_RESTART) sigaddset(&act.sa_mask, sig);
  if (sig <= 0 || sig >= NSIG || rt::set_signal_action(sig, &act, &old) != 0) {
    errno = EINVAL;
    return SIG_ERR;
  }
  return old.sa_handler;
}
}  // namespace
AIX_EXPORT sighandler_t signal(int sig, sighandler_t handler) { return install_handler(sig, handler, SA_RESTART); }
AIX_EXPORT sighandler_t bsd_signal(int sig, sighandler_t handler) { return install_handler(sig, handler, SA_RESTART); }
AIX_EXPORT sighandler_t sysv_signal(int sig, sighandler_t handler) {
  return install_handler(sig, handler, SA_RESETHAND | SA_NODEFER);
}
// System V's sigset() and sigignore(): glibc's reach its sigaction() from inside libc, where the
// export above does not see them, so they are here as well. sigset(SIG_HOLD) blocks the signal;
// another disposition is set and unblocks it; SIG_HOLD comes back when it was blocked.
AIX_EXPORT sighandler_t sigset(int sig, sighandler_t disp) {
  struct sigaction act, old;
  memset(&act, 0, sizeof act);
  act.sa_handler = disp;
  sigemptyset(&act.sa_mask);
  bool hold = disp == SIG_HOLD;
  if (sig <= 0 || sig >= NSIG || rt::set_signal_action(sig, hold ? nullptr : &act, &old) != 0) {
    errno = EINVAL;
    return SIG_ERR;
  }
  bool was_blocked = os::signal_blocked(sig, /*change=*/true, /*block=*/hold);
  return was_blocked ? SIG_HOLD : old.sa_handler;
}
AIX_EXPORT int sigignore(int sig) {
  struct sigaction act;
  memset(&act, 0, sizeof act);
  act.sa_handler = SIG_IGN;
  sigemptyset(&act.sa_mask);
  return rt::set_signal_action(sig, &act, nullptr);
}

AIX_EXPORT void* __libc_malloc(size_t) AIX_ALIAS(malloc);
AIX_EXPORT void __libc_free(void*) AIX_ALIAS(free);
AIX_EXPORT void* __libc_calloc(size_t, size_t) AIX_ALIAS(calloc);
AIX_EXPORT void* __libc_realloc(void*, size_t) AIX_ALIAS(realloc);
AIX_EXPORT void* __libc_memalign(size_t, size_t) AIX_ALIAS(memalign);
AIX_EXPORT void* __libc_valloc(size_t) AIX_ALIAS(valloc);
AIX_EXPORT void* __libc_pvalloc(size_t) AIX_ALIAS(pvalloc);
AIX_EXPORT int __libc_mallopt(int, int) AIX_ALIAS(mallopt);
AIX_EXPORT int __posix_memalign(void**, size_t, size_t) AIX_ALIAS(posix_memalign);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
AIX_EXPORT struct mallinfo __libc_mallinfo() AIX_ALIAS(mallinfo);
#pragma GCC diagnostic pop
// AIX's _LINUX_SOURCE_COMPAT names: glibc's semantics whatever AIXMALLOC_ZERO_SIZE says, so a zero
// size still gets a pointer. A request of 0 asks for 1 byte: the same smallest block malloc(0) gets.
AIX_NOTED(void*, __linux_malloc, (size_t size)) {
  return rt::allocate(size == 0 ? 1 : size);
}
AIX_NOTED(void*, __linux_calloc, (size_t count, size_t size)) {
  if (count == 0 || size == 0) count = size = 1;
  return rt::allocate_zeroed(count, size);
}
AIX_NOTED(void*, __linux_realloc, (void* p, size_t size)) {
  if (p == nullptr && size == 0) size = 1;  // realloc(p, 0) frees p, as glibc's does
  return rt::reallocate(p, size);
}
AIX_NOTED(void*, __linux_valloc, (size_t size)) {
  return rt::allocate_aligned(page_size(), size);
}
