// The thread caches' records: one per thread, taken from the allocator's own records and reused
// after the thread exits; the list of every record, for the statistics.
#include "options/threadcache.h"

#include <new>

#include "libmalloc/base/lock.h"
#include "libmalloc/base/meta.h"
#include "libmalloc/base/thread_exit.h"

namespace aixmalloc::tcache {

__thread ThreadCache* t_cache = nullptr;

namespace {

AIXMALLOC_FORK_LOCK constinit Lock g_lock;
ThreadCache* g_all = nullptr;    // every cache record
ThreadCache* g_spare = nullptr;  // records of exited threads, empty, for reuse

}  // namespace

ThreadCache* attach() {
  if (!thread_exit::watch()) return nullptr;
  ThreadCache* tc = nullptr;
  {
    LockGuard guard(g_lock);
    if (g_spare) {
      tc = g_spare;
      g_spare = reinterpret_cast<ThreadCache*>(tc->list[0]);  // spare records chain through list[0]
      tc->list[0] = nullptr;
    }
  }
  if (tc == nullptr) {
    void* mem = meta_allocate(sizeof(ThreadCache));
    if (mem == nullptr) return nullptr;
    tc = new (mem) ThreadCache;
    LockGuard guard(g_lock);
    tc->next = g_all;
    g_all = tc;
  }
  t_cache = tc;
  return tc;
}

void retire(ThreadCache* tc) {
  t_cache = nullptr;
  // Empty now; the next owner starts with batches of one block.
  for (unsigned c = 0; c < kClasses; ++c) tc->low[c] = tc->batch[c] = tc->held[c] = 0;
  tc->freed = 0;
  LockGuard guard(g_lock);
  tc->list[0] = reinterpret_cast<Cached*>(g_spare);
  g_spare = tc;
}

void totals(ThreadCacheFigures* out) {
  *out = ThreadCacheFigures{};
  LockGuard guard(g_lock);
  for (ThreadCache* tc = g_all; tc; tc = tc->next) {
    ++out->caches;
    for (unsigned c = 0; c < kClasses; ++c) {
      out->blocks += tc->count[c];
      out->bytes += tc->count[c] * class_size(c);
    }
    out->hits += tc->hits;
    out->refills += tc->refills;
    out->flushes += tc->flushes;
  }
}

Depot* depot_room() {
  AIXMALLOC_LARGE_TABLE static constinit Depot fixed[kMaxHeaps];
  static constinit std::atomic<bool> claimed{false};
  void* room = claim_room(claimed, fixed, sizeof fixed);
  if (room == fixed || room == nullptr) return static_cast<Depot*>(room);
  auto* depots = static_cast<Depot*>(room);
  for (unsigned i = 0; i < kMaxHeaps; ++i) new (&depots[i]) Depot;
  return depots;
}

Lock& fork_lock() { return g_lock; }
void set_aside_in_child() {
  if (g_lock.is_locked()) g_spare = nullptr;
  g_lock.reset_in_child();
  t_cache = nullptr;
}

}  // namespace aixmalloc::tcache
