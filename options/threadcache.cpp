#include "options/threadcache.h"

#include <pthread.h>

#include <new>

#include "libmalloc/base/lock.h"
#include "libmalloc/base/meta.h"

namespace aixmalloc::tcache {

__thread ThreadCache* t_cache = nullptr;

namespace {

enum ThreadState : uint8_t { kDetached, kAttaching, kAttached, kExited };
__thread uint8_t t_state = kDetached;

constinit Lock g_lock;
ThreadCache* g_all = nullptr;    // every cache record
ThreadCache* g_spare = nullptr;  // records of exited threads, empty, for reuse
pthread_key_t g_key;
bool g_key_made = false;

}  // namespace

ThreadCache* attach(void (*on_exit)(void*)) {
  if (t_state != kDetached) return nullptr;
  t_state = kAttaching;  // a malloc inside pthread_* below is served without the cache
  ThreadCache* tc = nullptr;
  bool ok = true;
  {
    LockGuard guard(g_lock);
    if (!g_key_made) ok = g_key_made = pthread_key_create(&g_key, on_exit) == 0;
    if (ok && g_spare) {
      tc = g_spare;
      g_spare = reinterpret_cast<ThreadCache*>(tc->list[0]);  // spare records chain through list[0]
      tc->list[0] = nullptr;
    }
  }
  if (ok && tc == nullptr) {
    void* mem = meta_allocate(sizeof(ThreadCache));
    if (mem) {
      tc = new (mem) ThreadCache;
      LockGuard guard(g_lock);
      tc->next = g_all;
      g_all = tc;
    }
  }
  if (tc == nullptr) {
    t_state = kDetached;
    return nullptr;
  }
  pthread_setspecific(g_key, tc);
  t_cache = tc;
  t_state = kAttached;
  return tc;
}

void retire(ThreadCache* tc) {
  t_cache = nullptr;
  t_state = kExited;
  LockGuard guard(g_lock);
  tc->list[0] = reinterpret_cast<Cached*>(g_spare);
  g_spare = tc;
}

void totals(Totals* out) {
  *out = Totals{};
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

void lock_for_fork() { g_lock.lock(); }
void unlock_after_fork() { g_lock.unlock(); }
void reset_in_child() { g_lock.reset_in_child(); }
void set_aside_in_child() {
  if (g_lock.is_locked()) g_spare = nullptr;
  g_lock.reset_in_child();
  if (t_state == kAttached || t_state == kAttaching) {
    t_cache = nullptr;
    t_state = kDetached;
  }
}

}  // namespace aixmalloc::tcache
