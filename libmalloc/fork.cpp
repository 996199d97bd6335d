// pthread_atfork. Three ways through a fork, chosen by the thread that forks:
//
//  * The process has never had a second thread and this one holds none of the allocator's locks
//    (a shell, make, a program that runs others): no lock can be held, so none is taken, as glibc
//    does for its own malloc. Taking them would cost two page faults for each page that holds one
//    (the parent's unlock and the child's reset each write to a page the two processes share,
//    15-20 us a fault on a virtual machine), which was most of a fork's cost.
//  * It holds none (the ordinary case of a threaded process): like glibc, take libc's list of
//    streams, then every allocator lock in one order, so the child starts from consistent
//    structures; the child then resets the locks (their holders do not exist there).
//  * It already holds one: fork() was called from a signal handler that interrupted this thread
//    inside the allocator (or inside the pool's slow path). Waiting for that lock would wait for
//    ourselves, so nothing is taken. The parent goes on untouched; the child sets aside whatever
//    a lock was held on at the instant of the fork (the call that held it will never finish
//    there): a heap becomes a new, empty heap, its old blocks are kept and never reused; the
//    thread's pool and thread cache are left behind; shared lists are emptied. See aixmalloc(7),
//    "Fork", for what such a child may do.
#include <pthread.h>
#include <sys/single_threaded.h>

#include "libmalloc/assembly.h"
#include "libmalloc/base/address_map.h"
#include "libmalloc/base/bootstrap.h"
#include "libmalloc/base/lock.h"
#include "libmalloc/base/meta.h"
#include "libmalloc/replacement.h"

// glibc's lock of its list of streams, exported for interposers such as this one (weak: another
// libc may lack them, and then there is no such lock to order against).
extern "C" {
void _IO_list_lock() __attribute__((weak));
void _IO_list_unlock() __attribute__((weak));
void _IO_list_resetlock() __attribute__((weak));
}

namespace aixmalloc::rt {
namespace {

// How this thread's fork was prepared. The parent and child handlers run on the thread that ran
// the prepare handler, and the child is a copy of it, so thread-local words carry it over (two
// threads may fork at once). A signal handler may fork while its thread is inside fork() itself,
// between the prepare handler and the parent's: the ways nest, as the handlers' calls do.
enum ForkWay : uint8_t { kUntouched, kAlone, kLocked, kLockedWithStreams, kSetAside };
constexpr unsigned kNesting = 4;
__thread uint8_t t_fork_ways[kNesting];
__thread uint8_t t_fork_depth = 0;

void push_way(ForkWay way) {
  if (t_fork_depth < kNesting) t_fork_ways[t_fork_depth] = way;
  ++t_fork_depth;
}
ForkWay pop_way() {
  if (t_fork_depth == 0) return kUntouched;  // a parent or child handler without its prepare
  --t_fork_depth;
  if (t_fork_depth < kNesting) return static_cast<ForkWay>(t_fork_ways[t_fork_depth]);
  return ready() ? kSetAside : kUntouched;  // deeper than recorded: prepare took no lock there
}

// The order of locks at fork, and why it cannot deadlock.
//
// glibc 2.36's fork() (Debian 12) runs, in this order: the prepare handlers of pthread_atfork, last
// registered first (ours among them); then, when the process has ever had a second thread
// (__libc_single_threaded is false), its own locks: the list of streams (_IO_list_lock) and then
// its malloc's; then the system call. glibc takes its malloc's locks after the list lock because a
// thread may allocate while it holds a stream (getdelim) and fflush(NULL) holds the list while it
// waits for each stream. Our locks are taken in a prepare handler, before glibc takes the
// list, which is the opposite order: the forking thread would hold the allocator and wait for the
// list, fflush(NULL) would hold the list and wait for a stream, and getline() would hold that
// stream and wait for the allocator. So the prepare handler takes the list lock itself, first. It
// is recursive (counted, with an owner), so glibc's own _IO_list_lock() right after returns at
// once. Afterwards, in the parent, glibc releases its count before the parent handlers run and we
// release ours in fork_parent; in the child, glibc reinitialises the list lock (and every stream's)
// before the child handlers run, and fork_child reinitialises it again, which also covers a libc
// that skipped it. The list lock is taken only when glibc takes it too, in a process that has had a
// second thread: in a single-threaded process no other thread can hold it, and a signal handler
// that interrupted this thread inside stdio would otherwise wait for the lock its own thread is
// taking.
//
// Then every allocator lock: the layers' from the top of the stack down (Malloc Detect's 16 stripes,
// the pool's, the thread caches' list, the large-block cache's, the heaps'), then the records', then
// the address map's. Each lock is only ever taken while holding locks earlier in this order (a heap
// growing takes the map lock; a cache attaching takes its list lock, then, separately, the records';
// Malloc Detect's stripes, the pool's, the caches' list and the large-block cache's are held with no
// other), and no thread holding one
// waits for anything outside the allocator, so the prepare handler waits only for threads that are
// about to release. A prepare handler registered before ours runs after it, with every allocator
// lock held, and must not allocate (glibc's own malloc avoids this by taking its locks after every
// handler, which an interposed allocator cannot do). Ours is registered when the library starts,
// after the constructors of the libraries it was loaded with and before the program's, so that
// concerns only those libraries.
void lock_everything() {
  g_stack.fork_prepare();
  meta_lock_for_fork();
  address_map().lock().lock();
}

// MALLOCTYPE=user: the replacement's prefork hook takes its locks before ours (a call it makes to
// malloc goes to the default policy, so its locks come first in the order) and its postfork hook
// releases them after ours, in the parent and in the child.
void fork_prepare() {
  if (replacement::g_on) replacement::fork_prepare();
  if (!ready()) {
    push_way(kUntouched);
  } else if (t_locks_held != 0 || t_fork_depth >= kNesting) {
    push_way(kSetAside);
  } else if (__libc_single_threaded) {
    push_way(kAlone);  // only this thread could hold a lock, and it holds none
  } else if (_IO_list_lock && _IO_list_unlock && _IO_list_resetlock) {
    push_way(kLockedWithStreams);
    _IO_list_lock();
    lock_everything();
  } else {
    push_way(kLocked);
    lock_everything();
  }
}

void fork_parent() {
  ForkWay way = pop_way();
  if (way == kLocked || way == kLockedWithStreams) {
    address_map().lock().unlock();
    meta_unlock_after_fork();
    g_stack.fork_parent();
    if (way == kLockedWithStreams) _IO_list_unlock();
  }
  if (replacement::g_on) replacement::fork_after();
}

void fork_child() {
  ForkWay way = pop_way();
  t_fork_depth = 0;  // the child starts afresh: whatever enclosed this fork is the parent's
  switch (way) {
    case kUntouched:  // start-up was under way
      startup_reset_in_child();
      bootstrap::reset_in_child();
      break;
    case kAlone:
      break;
    case kLocked:
    case kLockedWithStreams:
      address_map().lock().reset_in_child();
      meta_reset_in_child();
      g_stack.fork_child();
      if (way == kLockedWithStreams) _IO_list_resetlock();
      break;
    case kSetAside:
      // The map first: setting a heap aside rewrites its entries.
      address_map().lock().reset_in_child();
      bootstrap::reset_in_child();
      meta_set_aside_in_child();
      g_stack.fork_child_set_aside();
      break;
  }
  Lock::reset_held_in_child();
  live_statistics_reset_in_child();
  live_channel_reset_in_child();
  if (replacement::g_on) replacement::fork_after();
}

}  // namespace

void install_fork_handlers() { pthread_atfork(fork_prepare, fork_parent, fork_child); }

}  // namespace aixmalloc::rt
