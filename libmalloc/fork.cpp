// pthread_atfork: the parent takes every allocator lock before fork, in one order, so the child
// starts from consistent structures; the child then resets the locks the parent's other threads
// held (they do not exist there).
#include <pthread.h>

#include "libmalloc/assembly.h"
#include "libmalloc/base/address_map.h"
#include "libmalloc/base/lock.h"
#include "libmalloc/base/meta.h"

namespace aixmalloc::rt {
namespace {

// Every allocator lock, in one order: the layers' from the top of the stack down (the pool's, the
// thread caches' list, the large-block cache's, the heaps'), then the records', then the address
// map's. A lock is only ever taken while holding locks earlier in this order (a heap growing takes
// the map lock; a cache attaching takes its list lock, then, separately, the records'; the pool's,
// the caches' list and the large-block cache's are held with no other), so the prepare handler
// cannot deadlock against a thread inside the allocator.
void fork_prepare() {
  if (!ready()) return;
  g_stack.fork_prepare();
  meta_lock_for_fork();
  address_map().lock().lock();
}
void fork_parent() {
  if (!ready()) return;
  address_map().lock().unlock();
  meta_unlock_after_fork();
  g_stack.fork_parent();
}
void fork_child() {
  if (!ready()) return;
  address_map().lock().reset_in_child();
  meta_reset_in_child();
  g_stack.fork_child();
  Lock::reset_held_in_child();
  live_statistics_reset_in_child();
}

}  // namespace

void install_fork_handlers() { pthread_atfork(fork_prepare, fork_parent, fork_child); }

}  // namespace aixmalloc::rt
