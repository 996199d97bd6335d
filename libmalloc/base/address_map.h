// Who owns an address: a two-level radix over the address space at 64 KiB granularity.
//
//   address bits:  47..32 (16 bits)   31..16 (16 bits)   15..0
//                  top index           leaf index         offset in the granule
//   top_[i] -> leaf (64 Ki entries, 512 KiB, mapped on first use) -> Owner word
//
// The first top index that gets a leaf keeps it in first_leaf_, beside the index, rather than in
// top_: the library's map starts on the page of its small variables (libmalloc/hot_text.ld), so
// that a process whose blocks lie in one 4 GiB region never touches the 512 KiB table, a page of
// which was a page fault in every process with a block in the map.
//
// Lookup is two dependent loads and never reads the pointer's own memory (DESIGN.md invariant 1).
// Writers (heap growth, large blocks) serialise on one lock; readers take none.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "libmalloc/base/lock.h"
#include "libmalloc/base/platform.h"

namespace aixmalloc {

// An owner word: a pointer to the owning object with the kind in the low 3 bits, so the object
// must be 8-byte aligned (heaps, granule-aligned ranges and the bootstrap area all are).
// kBootstrap means blocks that are never reused and whose prefix gives their size: the bootstrap
// area's, and (with no object) those of a heap that a child forked from a signal handler set aside
// (libmalloc/fork.cpp); free() of one does nothing, realloc() copies it.
enum class OwnerKind : uintptr_t { kNone = 0, kBootstrap = 1, kHeap = 2, kLarge = 3, kGuarded = 4 };

struct Owner {
  uintptr_t word = 0;
  static Owner make(OwnerKind kind, const void* object) {
    return Owner{reinterpret_cast<uintptr_t>(object) | static_cast<uintptr_t>(kind)};
  }
  OwnerKind kind() const { return static_cast<OwnerKind>(word & 7); }
  template <class T>
  T* object() const {
    return reinterpret_cast<T*>(word & ~uintptr_t{7});
  }
};

class AddressMap {
 public:
  static constexpr unsigned kAddressBits = 48;
  static constexpr unsigned kLeafBits = 16;
  static constexpr unsigned kTopBits = kAddressBits - kGranuleShift - kLeafBits;

  Owner lookup(const void* p) const {
    uintptr_t a = reinterpret_cast<uintptr_t>(p);
    if (a >> kAddressBits) return Owner{};
    const std::atomic<uintptr_t>* leaf = leaf_of(a >> (kGranuleShift + kLeafBits));
    if (leaf == nullptr) return Owner{};
    return Owner{leaf[(a >> kGranuleShift) & ((1u << kLeafBits) - 1)].load(
        std::memory_order_acquire)};
  }

  // Records `owner` for every granule of [start, start+size); both granule-aligned. Fails only if
  // a leaf cannot be mapped.
  bool assign(uintptr_t start, size_t size, Owner owner);
  void clear(uintptr_t start, size_t size) { assign(start, size, Owner{}); }
  // Every granule owned by `from` passes to `to`: a walk of the whole map, for a forked child that
  // sets a heap aside without trusting the heap's own records (fork.cpp). No lock: the child has
  // one thread.
  void replace_in_child(Owner from, Owner to);

  // One lock for every map (there is one in the library; tests build others), beside the other
  // locks fork takes: as the map's first word, it put a page of the 512 KiB table more among those
  // every process touches, where only the entry a heap's first growth reads is needed.
  static Lock& lock();

 private:
  const std::atomic<uintptr_t>* leaf_of(uintptr_t top) const {
    // first_top_ is stored after first_leaf_, with release: a reader that sees it sees the leaf.
    if (top + 1 == first_top_.load(std::memory_order_acquire))
      return first_leaf_.load(std::memory_order_relaxed);
    return top_[top].load(std::memory_order_acquire);
  }
  std::atomic<uintptr_t>* leaf_for(uintptr_t granule_index);

  std::atomic<uintptr_t> first_top_{0};  // the first leaf's top index + 1; 0: none yet
  std::atomic<std::atomic<uintptr_t>*> first_leaf_{nullptr};
  std::atomic<std::atomic<uintptr_t>*> top_[size_t{1} << kTopBits] = {};
};

// The one map of the process. Zero-initialised static storage: usable before any constructor.
AddressMap& address_map();

// True when p is 16-byte aligned and the 16 bytes before it (a block prefix) lie in memory of the
// same owner as p, so they can be read. A prefix can straddle a granule boundary; only then does
// this cost a second lookup.
inline bool prefix_mapped(const void* p) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  if (a % kAlignment != 0) return false;
  if ((a & (kGranule - 1)) >= kHeaderSize) return true;
  return address_map().lookup(p).word == address_map().lookup(reinterpret_cast<void*>(a - 1)).word;
}

}  // namespace aixmalloc
