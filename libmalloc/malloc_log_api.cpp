// AIX's Malloc Log API (aixmalloc.h): get_malloc_log, get_malloc_log_live, reset_malloc_log over the
// log's records (options/malloc_log.h). "A heap" is what the address map says owns the block: one of
// multiheap's heaps, or heap 0 (the only heap without multiheap; pool, large and guarded blocks).
// Also dlclose, which the log's unwinder must hear of.
#include <dlfcn.h>
#include <errno.h>

#include <atomic>
#include <cstring>

#include "libmalloc/aixmalloc.h"
#include "libmalloc/assembly.h"
#include "libmalloc/base/address_map.h"
#include "libmalloc/base/stack_capture.h"

#define AIX_EXPORT extern "C" __attribute__((visibility("default")))

using namespace aixmalloc;

static_assert(sizeof(struct malloc_log) == sizeof(mlog::Record) && MALLOC_LOG_STACKDEPTH == mlog::kApiDepth,
              "struct malloc_log is the log's record");

namespace {

// The heap of addr; -1 for NULL (every heap); -2, with errno EINVAL, for a pointer that is not
// from malloc.
int heap_of(void* addr) {
  if (addr == nullptr) return -1;
  if (pool::owns(addr) || watson2::owns(addr)) return 0;  // no heap owns these blocks
  Owner o = address_map().lookup(addr);
  switch (o.kind()) {
    case OwnerKind::kHeap:
      return static_cast<int>(rt::g_stack.heap_index(o));
    case OwnerKind::kLarge:
    case OwnerKind::kGuarded:
    case OwnerKind::kBootstrap:
      return 0;
    case OwnerKind::kNone:
      break;
  }
  errno = EINVAL;
  return -2;
}

}  // namespace

AIX_EXPORT size_t get_malloc_log(void* addr, void* buf, size_t bufsize) {
  rt::ensure_started();
  if (!mlog::g_on) return 0;
  int heap = heap_of(addr);
  if (heap == -2 || buf == nullptr) return 0;
  mlog::refresh_counts();
  mlog::Records& r = mlog::records();
  auto* out = static_cast<struct malloc_log*>(buf);
  size_t room = bufsize / sizeof(struct malloc_log), copied = 0;
  auto copy = [&](uint32_t i) {
    if (copied == room) return;
    const mlog::Record& rec = r.record(i);
    size_t cnt = __atomic_load_n(&rec.cnt, __ATOMIC_RELAXED);
    if (cnt == 0 || (heap >= 0 && r.info(i).heap != heap)) return;
    memcpy(&out[copied], &rec, sizeof(struct malloc_log));
    out[copied++].cnt = cnt;
  };
  for (uint32_t i = 0, n = r.count(); i < n; ++i) copy(i);
  copy(mlog::kOverflow);
  return copied * sizeof(struct malloc_log);
}

AIX_EXPORT struct malloc_log* get_malloc_log_live(void* addr) {
  rt::ensure_started();
  if (!mlog::g_on || heap_of(addr) == -2) return nullptr;
  mlog::refresh_counts();  // the array's counts as of this call
  return reinterpret_cast<struct malloc_log*>(mlog::records().live_array());
}

AIX_EXPORT void reset_malloc_log(void* addr) {
  rt::ensure_started();
  if (!mlog::g_on) return;
  int heap = heap_of(addr);
  if (heap == -2) return;
  mlog::reset_counts(heap);
}

// dlclose: libc's, then the unwind rules read so far are forgotten (stack_capture.h), since
// another module may be mapped later where this one was. libc's is the next definition after
// ours; dlsym may allocate, and no lock of ours is held here.
AIX_EXPORT int dlclose(void* handle) {
  using Dlclose = int (*)(void*);
  static std::atomic<Dlclose> real{nullptr};
  Dlclose f = real.load(std::memory_order_acquire);
  if (f == nullptr) {
    f = reinterpret_cast<Dlclose>(dlsym(RTLD_NEXT, "dlclose"));
    if (f == nullptr) return -1;  // no libc below us: nothing was opened either
    real.store(f, std::memory_order_release);
  }
  int r = f(handle);
  stack::forget_rules();
  return r;
}
