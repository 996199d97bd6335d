// pthread_atfork. Two ways through a fork, chosen by the thread that forks:
//
//  * It holds none of the allocator's locks (the ordinary case): take every allocator lock in one
//    order, so the child starts from consistent structures; the child then resets the locks (their
//    holders do not exist there).
//  * It already holds one: fork() was called from a signal handler that interrupted this thread
//    inside the allocator (or inside the pool's slow path). Waiting for that lock would wait for
//    ourselves, so nothing is taken. The parent goes on untouched; the child sets aside whatever
//    a lock was held on at the instant of the fork (the call that held it will never finish
//    there): a heap becomes a new, empty heap, its old blocks are kept and never reused; the
//    thread's pool and thread cache are left behind; shared lists are emptied. See aixmalloc(7),
//    "Fork", for what such a child may do.
#include <pthread.h>

#include "libmalloc/assembly.h"
#include "libmalloc/base/address_map.h"
#include "libmalloc/base/bootstrap.h"
#include "libmalloc/base/large_blocks.h"
#include "libmalloc/base/lock.h"
#include "libmalloc/base/meta.h"
#include "options/pool.h"
#include "options/threadcache.h"

namespace aixmalloc::rt {
namespace {

// How this thread's last fork was prepared. The parent and child handlers run on the thread that
// ran the prepare handler, and the child is a copy of it, so a thread-local word carries it over
// (two threads may fork at once).
enum ForkWay : uint8_t { kUntouched, kLocked, kSetAside };
__thread uint8_t t_fork_way = kUntouched;

// Every allocator lock, in one order: the thread caches' list, the heaps, the pool, the records,
// the address map, the large-block cache. Each lock is only ever taken while holding locks earlier in this
// order (a heap growing takes the map lock; a cache attaching takes its list lock, then,
// separately, the records'), and no thread holding one waits for anything outside the allocator, so
// the prepare handler waits only for threads that are about to release. A prepare handler
// registered before ours runs after it, with every allocator lock held: it must not allocate (glibc
// has the same rule for its own locks, which it takes after every handler).
void lock_everything() {
  tcache::lock_for_fork();
  with_stack([](auto& st) { st.lock_all(); });
  pool::lock_for_fork();
  meta_lock_for_fork();
  address_map().lock().lock();
  large::lock_for_fork();  // a leaf: held with no other lock
}

void fork_prepare() {
  t_fork_way = kUntouched;
  if (!ready()) return;
  if (t_locks_held != 0) {
    t_fork_way = kSetAside;
    return;
  }
  t_fork_way = kLocked;
  lock_everything();
}

void fork_parent() {
  if (t_fork_way == kLocked) {
    large::unlock_after_fork();
    address_map().lock().unlock();
    meta_unlock_after_fork();
    pool::unlock_after_fork();
    with_stack([](auto& st) { st.unlock_all(); });
    tcache::unlock_after_fork();
  }
  t_fork_way = kUntouched;
}

void fork_child() {
  uint8_t way = t_fork_way;
  t_fork_way = kUntouched;
  switch (way) {
    case kUntouched:  // start-up was under way
      startup_reset_in_child();
      bootstrap::reset_in_child();
      break;
    case kLocked:
      address_map().lock().reset_in_child();
      large::reset_in_child();
      meta_reset_in_child();
      pool::reset_in_child();
      with_stack([](auto& st) { st.reset_locks_in_child(); });
      tcache::reset_in_child();
      break;
    case kSetAside:
      // The map first: setting a heap aside rewrites its entries.
      address_map().lock().reset_in_child();
      bootstrap::reset_in_child();
      large::set_aside_in_child();
      meta_set_aside_in_child();
      pool::set_aside_in_child();
      tcache::set_aside_in_child();
      with_stack([](auto& st) { st.set_aside_in_child(); });
      break;
  }
  Lock::reset_held_in_child();
  live_statistics_reset_in_child();
}

}  // namespace

void install_fork_handlers() { pthread_atfork(fork_prepare, fork_parent, fork_child); }

}  // namespace aixmalloc::rt
