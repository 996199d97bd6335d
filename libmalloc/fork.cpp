// pthread_atfork: the parent takes every allocator lock before fork, in one order, so the child
// starts from consistent structures; the child then resets the locks the parent's other threads
// held (they do not exist there).
#include <pthread.h>

#include "libmalloc/assembly.h"
#include "libmalloc/base/address_map.h"
#include "libmalloc/base/large_blocks.h"
#include "libmalloc/base/lock.h"
#include "libmalloc/base/meta.h"
#include "options/pool.h"
#include "options/threadcache.h"

namespace aixmalloc::rt {
namespace {

// Every allocator lock, in one order: the thread caches' list, the heaps, the pool, the records,
// the address map. Each lock is only ever taken while holding locks earlier in this order (a heap
// growing takes the map lock; a cache attaching takes its list lock, then, separately, the records'),
// so the prepare handler cannot deadlock against a thread inside the allocator.
void fork_prepare() {
  if (!ready()) return;
  tcache::lock_for_fork();
  with_stack([](auto& st) { st.lock_all(); });
  pool::lock_for_fork();
  meta_lock_for_fork();
  address_map().lock().lock();
  large::lock_for_fork();  // a leaf: held with no other lock
}
void fork_parent() {
  if (!ready()) return;
  large::unlock_after_fork();
  address_map().lock().unlock();
  meta_unlock_after_fork();
  pool::unlock_after_fork();
  with_stack([](auto& st) { st.unlock_all(); });
  tcache::unlock_after_fork();
}
void fork_child() {
  if (!ready()) return;
  address_map().lock().reset_in_child();
  large::reset_in_child();
  meta_reset_in_child();
  pool::reset_in_child();
  with_stack([](auto& st) { st.reset_locks_in_child(); });
  tcache::reset_in_child();
  Lock::reset_held_in_child();
  live_statistics_reset_in_child();
}

}  // namespace

void install_fork_handlers() { pthread_atfork(fork_prepare, fork_parent, fork_child); }

}  // namespace aixmalloc::rt
