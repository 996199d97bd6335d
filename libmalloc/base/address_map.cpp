// Leaves of the address map come straight from the OS and are never freed: the map only grows with
// the address space we have used, 8 bytes per 64 KiB granule.
#include "libmalloc/base/address_map.h"

#include "libmalloc/base/os.h"
#include "libmalloc/base/platform.h"

namespace aixmalloc {

namespace {
// Not among the large tables: its section follows .bss (libmalloc/hot_text.ld), so that its first
// words, the first leaf, lie on the small variables' page.
[[gnu::section(".bss.aixmalloc_map")]] constinit AddressMap g_map;
AIXMALLOC_FORK_LOCK constinit Lock g_map_lock;
}

Lock& AddressMap::lock() { return g_map_lock; }

AddressMap& address_map() { return g_map; }

// Under the lock. Before the first leaf, the table is not read either.
std::atomic<uintptr_t>* AddressMap::leaf_for(uintptr_t granule_index) {
  uintptr_t top = granule_index >> kLeafBits;
  bool first = first_top_.load(std::memory_order_relaxed) == 0;
  if (!first)
    if (auto* leaf = const_cast<std::atomic<uintptr_t>*>(leaf_of(top))) return leaf;
  uintptr_t mem = os::map(sizeof(std::atomic<uintptr_t>) << kLeafBits, page_size());
  if (mem == 0) return nullptr;
  auto* leaf = reinterpret_cast<std::atomic<uintptr_t>*>(mem);
  if (first) {
    first_leaf_.store(leaf, std::memory_order_relaxed);
    first_top_.store(top + 1, std::memory_order_release);
  } else {
    top_[top].store(leaf, std::memory_order_release);
  }
  return leaf;
}

void AddressMap::replace_in_child(Owner from, Owner to) {
  auto replace = [&](std::atomic<uintptr_t>* leaf) {
    if (leaf == nullptr) return;
    for (size_t i = 0; i < (size_t{1} << kLeafBits); ++i)
      if (leaf[i].load(std::memory_order_relaxed) == from.word)
        leaf[i].store(to.word, std::memory_order_relaxed);
  };
  replace(first_leaf_.load(std::memory_order_relaxed));
  for (auto& slot : top_) replace(slot.load(std::memory_order_relaxed));
}

bool AddressMap::assign(uintptr_t start, size_t size, Owner owner) {
  LockGuard guard(g_map_lock);
  for (uintptr_t g = start >> kGranuleShift, end = (start + size) >> kGranuleShift; g < end; ++g) {
    std::atomic<uintptr_t>* leaf = leaf_for(g);
    if (leaf == nullptr) return false;
    leaf[g & ((1u << kLeafBits) - 1)].store(owner.word, std::memory_order_release);
  }
  return true;
}

}  // namespace aixmalloc
