// Large blocks (large_blocks.h): one mapping per block with its prefix right before the user
// pointer, resized by mremap; and the small cache of freed mappings the next large request takes.
#include "libmalloc/base/large_blocks.h"

#include <string.h>

#include "libmalloc/base/block.h"
#include "libmalloc/base/lock.h"
#include "libmalloc/base/os.h"
#include "libmalloc/base/platform.h"

namespace aixmalloc::large {
namespace {

constinit std::atomic<uint64_t> g_blocks{0}, g_bytes{0}, g_max_blocks{0}, g_max_bytes{0}, g_allocations{0};

void raise_max(std::atomic<uint64_t>& max, uint64_t v) {
  uint64_t m = max.load(std::memory_order_relaxed);
  while (v > m && !max.compare_exchange_weak(m, v, std::memory_order_relaxed)) {
  }
}

void account(int64_t blocks, int64_t bytes) {
  uint64_t b = g_blocks.fetch_add(static_cast<uint64_t>(blocks), std::memory_order_relaxed) + blocks;
  uint64_t s = g_bytes.fetch_add(static_cast<uint64_t>(bytes), std::memory_order_relaxed) + bytes;
  raise_max(g_max_blocks, b);
  raise_max(g_max_bytes, s);
}

struct Mapping {
  uintptr_t base;
  size_t size;
};

Mapping mapping_of(void* p, Owner owner) {
  const BlockHeader* h = BlockHeader::of(p);
  return Mapping{reinterpret_cast<uintptr_t>(owner.object<void>()), h->size()};
}

// A block placed in a mapping that held another block before (from the cache): its pages are not
// zero, so calloc must clear them.
constexpr uintptr_t kReused = 2;
// The check word a freed block's prefix gets (while its range is cached): a second free of it is
// told apart from a pointer that was never a block.
constexpr uintptr_t kFreedMagic = kLargeMagic ^ 0xf9eedull;

void* place(uintptr_t base, size_t size, size_t align, bool reused) {
  uintptr_t user = align_up(base + kHeaderSize, align);
  BlockHeader* h = BlockHeader::of(reinterpret_cast<void*>(user));
  h->size_flags = size | kInUse | (reused ? kReused : 0);
  h->check = kLargeMagic ^ reinterpret_cast<uintptr_t>(h);
  return reinterpret_cast<void*>(user);
}

bool own(uintptr_t base, size_t size) {
  return address_map().assign(base, size, Owner::make(OwnerKind::kLarge, reinterpret_cast<void*>(base)));
}

// The cache of freed mappings (aixmalloc's own; AIX says nothing of large blocks). A freed large
// block's range stays mapped, its pages resident, for up to a second, and the next large request
// takes it, so a program that frees and allocates big buffers in turn does not fault in fresh pages
// for each one (glibc gets the same effect by raising its mmap threshold). A freed range joins the
// cached ranges it touches; a request takes the head of a larger range and leaves the rest cached
// (or the whole range, when the rest could not serve a large request), or grows a smaller one by
// remapping its pages. At most kCacheSlots ranges and kCacheBudget bytes; ranges older than a
// second are unmapped at the next large request or free, those idle for 0.1 s when a heap is about
// to take fresh pages from the system, and all of them by malloc_trim(). A cached
// range keeps the address-map entries it had (the block taken from it owns its range anew), and
// the prefix's check word of the block it held is cleared, so a free of a stale pointer into it is
// still reported, never followed. The cache lock is a leaf: nothing else is taken while it is held,
// and the system calls are made after it is released.
constexpr unsigned kCacheSlots = 4;
constexpr size_t kCacheBudget = size_t{64} << 20;
constexpr uint64_t kCacheAgeNs = 1'000'000'000;
// A heap about to take fresh pages from the system first unmaps the ranges idle this long: a range
// kept for the next large request must not add to the process's peak while the program grows in
// small blocks instead (sqlite3 freeing its 16 MiB sort buffer, then filling its page cache).
constexpr uint64_t kIdleBeforeGrowthNs = 100'000'000;

struct CachedRange {
  uintptr_t base;
  size_t size;
  uint64_t since;
};

AIXMALLOC_FORK_LOCK constinit Lock g_cache_lock;
CachedRange g_cache[kCacheSlots];
unsigned g_cached = 0;
size_t g_cached_bytes = 0;
constinit std::atomic<bool> g_any_cached{false};  // g_cached != 0, read without the lock
constinit std::atomic<uint64_t> g_cache_hits{0};

// Ranges taken out of the cache to be unmapped once its lock is released.
struct Evicted {
  CachedRange range[kCacheSlots + 1];
  unsigned n = 0;
  void unmap() {
    for (unsigned i = 0; i < n; ++i) {
      address_map().clear(range[i].base, range[i].size);
      os::release(range[i].base, range[i].size);
    }
  }
};

void remove_locked(unsigned i, Evicted* out) {
  if (out) out->range[out->n++] = g_cache[i];
  g_cached_bytes -= g_cache[i].size;
  g_cache[i] = g_cache[--g_cached];
  if (g_cached == 0) g_any_cached.store(false, std::memory_order_relaxed);
}

// Puts a freed range in the cache, joined with the cached ranges it touches; the oldest ranges make
// room (into *out, to be unmapped), and a range over the budget goes there itself.
void insert_locked(CachedRange r, Evicted* out) {
  for (unsigned i = 0; i < g_cached;) {
    const CachedRange& c = g_cache[i];
    if (c.base + c.size == r.base || r.base + r.size == c.base) {
      if (c.base < r.base) r.base = c.base;
      r.size += c.size;
      remove_locked(i, nullptr);
      i = 0;  // the joined range may touch one seen already
    } else {
      ++i;
    }
  }
  if (r.size > kCacheBudget) {
    out->range[out->n++] = r;
    return;
  }
  while (g_cached == kCacheSlots || (g_cached && g_cached_bytes + r.size > kCacheBudget)) {
    unsigned oldest = 0;
    for (unsigned i = 1; i < g_cached; ++i)
      if (g_cache[i].since < g_cache[oldest].since) oldest = i;
    remove_locked(oldest, out);
  }
  g_cache[g_cached++] = r;
  g_cached_bytes += r.size;
  g_any_cached.store(true, std::memory_order_relaxed);
}

void expire_locked(uint64_t now, Evicted* out, uint64_t age = kCacheAgeNs) {
  for (unsigned i = g_cached; i-- > 0;)
    if (now - g_cache[i].since >= age) remove_locked(i, out);
}

// The cached range that serves `total` bytes best: the smallest that holds it, else the largest
// (grown by remapping); removed from the cache. False when the cache is empty.
bool take_cached(size_t total, CachedRange* out, Evicted* expired) {
  LockGuard guard(g_cache_lock);
  expire_locked(os::now_ns(), expired);
  unsigned best = kCacheSlots;
  for (unsigned i = 0; i < g_cached; ++i) {
    if (best == kCacheSlots) {
      best = i;
    } else if (g_cache[i].size >= total) {
      if (g_cache[best].size < total || g_cache[i].size < g_cache[best].size) best = i;
    } else if (g_cache[best].size < total && g_cache[i].size > g_cache[best].size) {
      best = i;
    }
  }
  if (best == kCacheSlots) return false;
  *out = g_cache[best];
  remove_locked(best, nullptr);
  return true;
}

// Fits a cached range to `*total` bytes: its head, the rest cached again when it can serve a large
// request (its pages stay resident for the next one), else the whole range (*total then says how
// much); or the range grown (in place, or its pages moved to a new range). Returns the base, owned
// by the new block, or 0 when it could not grow or be owned (the range is then unmapped).
uintptr_t fit(CachedRange c, size_t* total_io) {
  size_t total = *total_io;
  if (c.size >= total) {
    if (c.size - total >= kLargeThreshold) {
      Evicted out;
      {
        LockGuard guard(g_cache_lock);
        insert_locked(CachedRange{c.base + total, c.size - total, c.since}, &out);
      }
      out.unmap();
    } else {
      total = *total_io = c.size;
    }
    if (own(c.base, total)) return c.base;
    address_map().clear(c.base, total);
    os::release(c.base, total);
    return 0;
  }
  if (os::remap_in_place(c.base, c.size, total)) {
    if (own(c.base, total)) return c.base;
    address_map().clear(c.base, total);
    os::release(c.base, total);
    return 0;
  }
  uintptr_t base = os::reserve(total, kGranule);
  if (base != 0 && os::remap_to(c.base, c.size, total, base)) {
    address_map().clear(c.base, c.size);
    if (own(base, total)) return base;
    address_map().clear(base, total);
    os::release(base, total);
    return 0;
  }
  if (base != 0) os::release(base, total);
  address_map().clear(c.base, c.size);
  os::release(c.base, c.size);
  return 0;
}

}  // namespace

void* allocate(size_t size, size_t align) {
  size_t extra = align > kAlignment ? align : kAlignment;
  if (size > kMaxRequest) return nullptr;
  size_t total = align_up(size + extra, kGranule);
  Evicted expired;
  CachedRange c;
  bool cached = take_cached(total, &c, &expired);
  expired.unmap();
  if (cached) {
    if (uintptr_t base = fit(c, &total)) {
      g_cache_hits.fetch_add(1, std::memory_order_relaxed);
      account(1, static_cast<int64_t>(total));
      g_allocations.fetch_add(1, std::memory_order_relaxed);
      return place(base, total, align, true);
    }
  }
  uintptr_t base = os::map(total, kGranule);
  // Refused (RLIMIT_AS counts the cached ranges too): give the cache back and ask once more.
  if (base == 0 && drop_cache() > 0) base = os::map(total, kGranule);
  if (base == 0) return nullptr;
  if (!own(base, total)) {
    address_map().clear(base, total);
    os::release(base, total);
    return nullptr;
  }
  account(1, static_cast<int64_t>(total));
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return place(base, total, align, false);
}

void clear_if_reused(void* p, size_t size) {
  if (BlockHeader::of(p)->size_flags & kReused) memset(p, 0, size);
}

size_t drop_cache() {
  Evicted all;
  {
    LockGuard guard(g_cache_lock);
    while (g_cached) remove_locked(g_cached - 1, &all);
  }
  size_t bytes = 0;
  for (unsigned i = 0; i < all.n; ++i) bytes += all.range[i].size;
  all.unmap();
  return bytes;
}

void before_growth() {
  if (!g_any_cached.load(std::memory_order_relaxed)) return;
  // A heap's lock may be held here, and at fork the cache's lock is taken before the heaps': only
  // a lock free at once is taken, so the order is never waited on the wrong way round.
  if (!g_cache_lock.try_lock()) return;
  Evicted out;
  expire_locked(os::now_ns(), &out, kIdleBeforeGrowthNs);
  g_cache_lock.unlock();
  out.unmap();
}

Lock& fork_lock() { return g_cache_lock; }
void set_aside_in_child() {
  if (g_cache_lock.is_locked()) {
    g_cached = 0;
    g_cached_bytes = 0;
    g_any_cached.store(false, std::memory_order_relaxed);
  }
  g_cache_lock.reset_in_child();
}

bool valid(void* p, Owner owner) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  uintptr_t base = reinterpret_cast<uintptr_t>(owner.object<void>());
  if (a % kAlignment != 0 || a < base + kHeaderSize) return false;
  // The prefix is inside the mapping (a - 16 >= base), so reading it is safe.
  const BlockHeader* h = BlockHeader::of(p);
  return h->check == (kLargeMagic ^ reinterpret_cast<uintptr_t>(h)) && h->in_use() &&
         a < base + h->size();
}

void release(void* p, Owner owner) {
  Mapping m = mapping_of(p, owner);
  BlockHeader* h = BlockHeader::of(p);
  h->check = kFreedMagic ^ reinterpret_cast<uintptr_t>(h);
  account(-1, -static_cast<int64_t>(m.size));
  Evicted out;
  if (m.size <= kCacheBudget) {
    LockGuard guard(g_cache_lock);
    uint64_t now = os::now_ns();
    expire_locked(now, &out);
    insert_locked(CachedRange{m.base, m.size, now}, &out);
  } else {
    out.range[out.n++] = CachedRange{m.base, m.size, 0};
  }
  out.unmap();
}

bool freed(void* p, Owner owner) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  uintptr_t base = reinterpret_cast<uintptr_t>(owner.object<void>());
  if (a % kAlignment != 0 || a < base + kHeaderSize) return false;
  const BlockHeader* h = BlockHeader::of(p);
  return h->check == (kFreedMagic ^ reinterpret_cast<uintptr_t>(h));
}

size_t usable_size(void* p, Owner owner) {
  Mapping m = mapping_of(p, owner);
  return m.base + m.size - reinterpret_cast<uintptr_t>(p);
}

void* reallocate(void* p, Owner owner, size_t size) {
  Mapping m = mapping_of(p, owner);
  if (reinterpret_cast<uintptr_t>(p) != m.base + kHeaderSize || size > kMaxRequest) return nullptr;
  bool reused = (BlockHeader::of(p)->size_flags & kReused) != 0;  // (read before the pages move)
  size_t total = align_up(size + kHeaderSize, kGranule);
  if (total == m.size) return p;
  uintptr_t base = m.base;
  if (os::remap_in_place(m.base, m.size, total)) {
    if (total < m.size) address_map().clear(m.base + total, m.size - total);
  } else {
    // Move the pages, not the bytes, onto a fresh granule-aligned range.
    base = os::reserve(total, kGranule);
    if (base == 0) return nullptr;
    if (!os::remap_to(m.base, m.size, total, base)) {
      os::release(base, total);
      return nullptr;
    }
    address_map().clear(m.base, m.size);
  }
  address_map().assign(base, total, Owner::make(OwnerKind::kLarge, reinterpret_cast<void*>(base)));
  account(0, static_cast<int64_t>(total) - static_cast<int64_t>(m.size));
  return place(base, total, kAlignment, reused);
}

LargeFigures totals() {
  LargeFigures t;
  t.blocks = g_blocks.load(std::memory_order_relaxed);
  t.bytes = g_bytes.load(std::memory_order_relaxed);
  t.max_blocks = g_max_blocks.load(std::memory_order_relaxed);
  t.max_bytes = g_max_bytes.load(std::memory_order_relaxed);
  t.allocations = g_allocations.load(std::memory_order_relaxed);
  t.cache_hits = g_cache_hits.load(std::memory_order_relaxed);
  LockGuard guard(g_cache_lock);
  t.cached_ranges = g_cached;
  t.cached_bytes = g_cached_bytes;
  return t;
}

}  // namespace aixmalloc::large
