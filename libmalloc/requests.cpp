// The semantics of the malloc family over the configured stack: errno, overflow checks, glibc's
// corner cases (realloc(p, 0), calloc's zeroing), the routing of a size to the pool, the thread
// cache, a large block of its own or a heap, and misuse reported with the address.
#include <errno.h>

#include <cstring>

#include "libmalloc/assembly.h"
#include "libmalloc/base/address_map.h"
#include "libmalloc/base/block.h"
#include "libmalloc/base/bootstrap.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/large_blocks.h"
#include "options/pool.h"
#include "options/threadcache.h"

namespace aixmalloc::rt {
namespace {

void* fail_nomem() {
  errno = ENOMEM;
  return nullptr;
}

void tcache_exit(void* arg);

// A request under 4096 bytes from this thread's cache, refilled in a batch when empty.
tcache::ThreadCache* tcache_attach() {
  tcache::ThreadCache* tc = tcache::attach(tcache_exit);
  if (tc && tc->home_heap) with_stack([&](auto& st) { st.inherit_home(tc->home_heap); });
  return tc;
}

void* tcache_allocate(size_t size) {
  tcache::ThreadCache* tc = tcache::t_cache;
  if (tc == nullptr && (tc = tcache_attach()) == nullptr) return nullptr;
  unsigned c = tcache::class_of(size);
  if (void* p = tcache::pop(tc, c)) return p;
  if (!with_stack([&](auto& st) { return st.refill(tc, c); })) return nullptr;
  return tcache::pop(tc, c);
}

// A heap block freed into this thread's cache, when it is a valid, cacheable one. Reading the
// prefix without the heap's lock is safe: an allocated block's prefix changes only when its owner,
// the caller, frees or resizes it. Anything doubtful goes the locked way, which reports misuse.
bool tcache_release(void* p) {
  if (!prefix_mapped(p)) return false;
  const BlockHeader* h = BlockHeader::of(p);
  if (!h->valid_in_use() || h->size() - kHeaderSize >= tcache::kLimit + 64) return false;
  tcache::ThreadCache* tc = tcache::t_cache;
  if (tc == nullptr && (tc = tcache_attach()) == nullptr) return false;
  unsigned c = tcache::class_for_block(h->size() - kHeaderSize);
  if (tcache::push(tc, c, p)) {
    tcache::Cached* half = tcache::take(tc, c, tc->count[c] / 2);
    with_stack([&](auto& st) { st.flush(half, c, true); });
  }
  return true;
}

void tcache_exit(void* arg) {
  auto* tc = static_cast<tcache::ThreadCache*>(arg);
  tc->home_heap = with_stack([](auto& st) { return st.home(); });
  for (unsigned c = 0; c < tcache::kClasses; ++c) {
    if (tc->count[c] == 0) continue;
    tcache::Cached* all = tcache::take(tc, c, tc->count[c]);
    with_stack([&](auto& st) { st.flush(all, c, false); });
  }
  tcache::retire(tc);
}

// What a pointer into a large block's range that is not a live block is.
Misuse large_misuse(void* p, Owner o) {
  return large::freed(p, o) ? Misuse::kDoubleFree : Misuse::kNotABlock;
}

void* allocate_ready(size_t size, size_t align) {
  if (size > kMaxRequest) return fail_nomem();
  if (g_tcache && size < tcache::kLimit && align == kAlignment) {
    if (void* p = tcache_allocate(size)) return p;
  }
  void* p = size >= kLargeThreshold ? large::allocate(size, align)
                                     : with_stack([&](auto& st) { return st.allocate(size, align); });
  return p ? p : fail_nomem();
}

void* allocate_any(size_t size, size_t align) {
  if (__builtin_expect(!ready(), 0) && !ensure_started()) {
    void* p = bootstrap::allocate(size, align);
    return p ? p : fail_nomem();
  }
  if (align < g_default_align) align = g_default_align;
  return allocate_ready(size, align);
}

size_t usable_size_of(void* p, Owner o, const char* call) {
  switch (o.kind()) {
    case OwnerKind::kHeap:
      return with_stack([&](auto& st) { return st.usable_size(p, o); });
    case OwnerKind::kLarge:
      if (!large::valid(p, o)) report_misuse(call, p, large_misuse(p, o));
      return large::usable_size(p, o);
    case OwnerKind::kBootstrap:
      return bootstrap::usable_size(p);
    case OwnerKind::kNone:
      break;
  }
  report_misuse(call, p, Misuse::kNotOwned);
}

// Moves a block to a fresh allocation: the general realloc, when resizing in place cannot work.
void* move_block(void* p, Owner o, size_t size) {
  size_t old = usable_size_of(p, o, "realloc");
  void* q = allocate_ready(size, kAlignment);
  if (q == nullptr) return nullptr;
  memcpy(q, p, old < size ? old : size);
  release(p, "realloc");
  return q;
}

}  // namespace

void* allocate(size_t size) {
  if (size <= pool::kMaxRequest && g_pool_fast.load(std::memory_order_acquire)) {
    void* p = pool::allocate(size);
    if (p) return p;
  }
  return allocate_any(size, kAlignment);
}

void* allocate_aligned(size_t align, size_t size) {
  if (align > (kMaxRequest >> 1)) return fail_nomem();
  return allocate_any(size, align < kAlignment ? kAlignment : align);
}

void* allocate_zeroed(size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) return fail_nomem();
  void* p = allocate(total);
  // Blocks with a fresh range of their own are zero already; a range reused from the cache is not.
  if (p == nullptr) return p;
  if (address_map().lookup(p).kind() != OwnerKind::kLarge) {
    memset(p, 0, total);
  } else {
    large::clear_if_reused(p, total);
  }
  return p;
}

void release(void* p, const char* call) {
  if (pool::owns(p)) {
    pool::release(p, call);
    return;
  }
  if (p == nullptr) return;
  Owner o = address_map().lookup(p);
  switch (o.kind()) {
    case OwnerKind::kHeap:
      if (g_tcache && tcache_release(p)) return;
      with_stack([&](auto& st) { st.release(p, o, call); });
      return;
    case OwnerKind::kLarge:
      if (!large::valid(p, o)) report_misuse(call, p, large_misuse(p, o));
      large::release(p, o);
      return;
    case OwnerKind::kBootstrap:
      return;  // never reused
    case OwnerKind::kNone:
      break;
  }
  report_misuse(call, p, Misuse::kNotOwned);
}

void* reallocate(void* p, size_t size) {
  if (p == nullptr) return allocate(size);
  if (size == 0) {  // glibc: realloc(p, 0) frees p and returns NULL
    release(p, "realloc");
    return nullptr;
  }
  if (size > kMaxRequest) return fail_nomem();
  if (pool::owns(p)) {  // a pool block stays while the new size fits its class
    size_t old = pool::usable_size(p);
    if (size <= old) return p;
    void* q = allocate(size);
    if (q == nullptr) return fail_nomem();
    memcpy(q, p, old);
    pool::release(p, "realloc");
    return q;
  }
  Owner o = address_map().lookup(p);
  void* q = nullptr;
  switch (o.kind()) {
    case OwnerKind::kHeap:
      if (size < kLargeThreshold) {
        q = with_stack([&](auto& st) { return st.reallocate(p, o, size); });
        if (q) return q;
      }
      break;
    case OwnerKind::kLarge:
      if (!large::valid(p, o)) report_misuse("realloc", p, large_misuse(p, o));
      if (size >= kLargeThreshold) {
        q = large::reallocate(p, o, size);
        if (q) return q;
      }
      break;
    case OwnerKind::kBootstrap:
      break;
    case OwnerKind::kNone:
      report_misuse("realloc", p, Misuse::kNotOwned);
  }
  q = move_block(p, o, size);
  return q ? q : fail_nomem();
}

size_t usable_size(void* p) {
  if (pool::owns(p)) return pool::usable_size(p);
  if (p == nullptr) return 0;
  return usable_size_of(p, address_map().lookup(p), "malloc_usable_size");
}

}  // namespace aixmalloc::rt
