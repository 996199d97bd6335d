// The allocator's own records (meta.h): a bump pointer over 64 KiB chunks mapped from the OS, under
// one lock that fork takes like every other.
#include "libmalloc/base/meta.h"

#include <cstdint>

#include "libmalloc/base/lock.h"
#include "libmalloc/base/os.h"
#include "libmalloc/base/platform.h"

namespace aixmalloc {
namespace {

AIXMALLOC_FORK_LOCK constinit Lock g_lock;
uintptr_t g_next = 0, g_end = 0;

}  // namespace

void* meta_allocate(size_t size) {
  size = align_up(size, 64);
  LockGuard guard(g_lock);
  if (g_next + size > g_end) {
    size_t chunk = size > kGranule ? align_up(size, kGranule) : kGranule;
    uintptr_t mem = os::map(chunk, page_size());  // fresh anonymous pages: zeroed
    if (mem == 0) return nullptr;
    g_next = mem;
    g_end = mem + chunk;
  }
  void* p = reinterpret_cast<void*>(g_next);
  g_next += size;
  return p;
}

void meta_lock_for_fork() { g_lock.lock(); }
void meta_unlock_after_fork() { g_lock.unlock(); }
void meta_reset_in_child() { g_lock.reset_in_child(); }
void meta_set_aside_in_child() {
  if (g_lock.is_locked()) g_next = g_end = 0;
  g_lock.reset_in_child();
}

}  // namespace aixmalloc
