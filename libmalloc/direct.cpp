#include "libmalloc/direct.h"

#include "libmalloc/block.h"
#include "libmalloc/os.h"
#include "libmalloc/platform.h"

namespace aixmalloc::direct {
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

void* place(uintptr_t base, size_t size, size_t align) {
  uintptr_t user = align_up(base + kHeaderSize, align);
  BlockHeader* h = BlockHeader::of(reinterpret_cast<void*>(user));
  h->size_flags = size | kInUse;
  h->check = kDirectMagic ^ reinterpret_cast<uintptr_t>(h);
  return reinterpret_cast<void*>(user);
}

}  // namespace

void* allocate(size_t size, size_t align) {
  size_t extra = align > kAlignment ? align : kAlignment;
  if (size > kMaxRequest) return nullptr;
  size_t total = align_up(size + extra, kGranule);
  uintptr_t base = os::map(total, kGranule);
  if (base == 0) return nullptr;
  if (!address_map().assign(base, total, Owner::make(OwnerKind::kDirect, reinterpret_cast<void*>(base)))) {
    address_map().clear(base, total);
    os::release(base, total);
    return nullptr;
  }
  account(1, static_cast<int64_t>(total));
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return place(base, total, align);
}

bool valid(void* p, Owner owner) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  uintptr_t base = reinterpret_cast<uintptr_t>(owner.object<void>());
  if (a % kAlignment != 0 || a < base + kHeaderSize) return false;
  // The prefix is inside the mapping (a - 16 >= base), so reading it is safe.
  const BlockHeader* h = BlockHeader::of(p);
  return h->check == (kDirectMagic ^ reinterpret_cast<uintptr_t>(h)) && h->in_use() &&
         a < base + h->size();
}

void release(void* p, Owner owner) {
  Mapping m = mapping_of(p, owner);
  BlockHeader::of(p)->check = 0;
  address_map().clear(m.base, m.size);
  os::release(m.base, m.size);
  account(-1, -static_cast<int64_t>(m.size));
}

size_t usable_size(void* p, Owner owner) {
  Mapping m = mapping_of(p, owner);
  return m.base + m.size - reinterpret_cast<uintptr_t>(p);
}

void* reallocate(void* p, Owner owner, size_t size) {
  Mapping m = mapping_of(p, owner);
  if (reinterpret_cast<uintptr_t>(p) != m.base + kHeaderSize || size > kMaxRequest) return nullptr;
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
  address_map().assign(base, total, Owner::make(OwnerKind::kDirect, reinterpret_cast<void*>(base)));
  account(0, static_cast<int64_t>(total) - static_cast<int64_t>(m.size));
  return place(base, total, kAlignment);
}

Totals totals() {
  return Totals{g_blocks.load(std::memory_order_relaxed), g_bytes.load(std::memory_order_relaxed),
                g_max_blocks.load(std::memory_order_relaxed),
                g_max_bytes.load(std::memory_order_relaxed),
                g_allocations.load(std::memory_order_relaxed)};
}

}  // namespace aixmalloc::direct
