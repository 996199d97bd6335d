// MALLOCTYPE=Yorktown, AIX's default policy: all free space of a heap in one Cartesian
// tree, a binary search tree by address that is at the same time a heap by size, so every
// subtree's root is its largest block.
//
//                  [0x1000 : 4096]            <- root: the largest free block
//                  /             \   .
//        [0x0400 : 512]       [0x3000 : 1024]
//          /                     \   .
//   [0x0100 : 64]             [0x5000 : 256]
//
// malloc takes the lowest-addressed block that fits: from the root, go left while the left child
// (the largest block of the lower addresses) is big enough; otherwise the current node is the
// answer. The remainder ("runt") goes back into the tree. free merges the block with both address
// neighbours at once, so the tree never holds two adjacent free blocks.
#pragma once

#include <boost/intrusive/treap.hpp>

#include "libmalloc/base/format.h"
#include "libmalloc/base/heap_memory.h"
#include "libmalloc/base/block.h"
#include "policies/policy.h"
#include "policies/segments.h"

namespace aixmalloc {

class Yorktown {
 public:
  static constexpr const char* kName = "Yorktown";
  // Blocks tile the heap and free neighbours merge (check() and the tests rely on it).
  static constexpr bool kCoalescing = true;

  explicit Yorktown(HeapMemory* memory) : memory_(memory) {}
  Yorktown(const Yorktown&) = delete;
  Yorktown& operator=(const Yorktown&) = delete;

  void* allocate(size_t size, size_t align);
  BlockState state(void* p) const;
  FreeRange release(void* p);
  void* reallocate(void* p, size_t size);
  size_t usable_size(void* p) const { return BlockHeader::of(p)->size() - kHeaderSize; }

  size_t free_bytes() const { return free_bytes_; }
  size_t free_blocks() const { return tree_.size(); }
  size_t largest_free() const { return tree_.empty() ? 0 : tree_.root()->size(); }
  size_t disclaim_free();
  bool check(Text* why) const;

 private:
  struct FreeBlock {
    uintptr_t size_flags;  // the prefix's first word, in-use bit clear
    boost::intrusive::bs_set_member_hook<boost::intrusive::link_mode<kLinkMode>> hook;
    size_t size() const { return size_flags & ~kFlagMask; }
    uintptr_t addr() const { return reinterpret_cast<uintptr_t>(this); }
    uintptr_t end() const { return addr() + size(); }
  };
  struct ByAddress {
    bool operator()(const FreeBlock& a, const FreeBlock& b) const { return a.addr() < b.addr(); }
    bool operator()(const FreeBlock& a, uintptr_t k) const { return a.addr() < k; }
    bool operator()(uintptr_t k, const FreeBlock& b) const { return k < b.addr(); }
  };
  // Heap order by size; equal sizes are ordered by a hash of the address so that many blocks of
  // one size form a balanced random treap rather than a list.
  struct LargerFirst {
    static uint64_t mix(uintptr_t a) { return (a >> 4) * 0x9e3779b97f4a7c15ull; }
    bool operator()(const FreeBlock& a, const FreeBlock& b) const {
      if (a.size() != b.size()) return a.size() > b.size();
      return mix(a.addr()) > mix(b.addr());
    }
  };
  using Tree = boost::intrusive::treap<
      FreeBlock,
      boost::intrusive::member_hook<FreeBlock, decltype(FreeBlock::hook), &FreeBlock::hook>,
      boost::intrusive::compare<ByAddress>, boost::intrusive::priority<LargerFirst>,
      boost::intrusive::constant_time_size<true>>;

 public:
  static constexpr size_t kMinBlock = sizeof(FreeBlock);

 private:
  FreeBlock* lowest_fit(size_t need) const;
  FreeBlock* make_free(uintptr_t at, size_t size);   // writes the prefix and inserts
  void remove(FreeBlock* b);
  // After b's size changed, or b took another block's place in the address order: restores the
  // heap order by size, in place when b is still no larger than its parent and no smaller than its
  // children (nothing moves), else by taking b out and putting it back.
  void settle(FreeBlock* b);
  // The piece [at, at+size) takes the place of `old` in the tree (no free block lies between their
  // addresses, so the address order holds) and the heap order is restored.
  FreeBlock* take_place(FreeBlock* old, uintptr_t at, size_t size);
  FreeBlock* insert_merging(uintptr_t at, size_t size);  // free with coalescing
  void* carve(FreeBlock* b, size_t need);            // b removed from the tree already
  void* carve_in_place(FreeBlock* b, size_t need);   // b still in the tree
  void* carve_aligned(FreeBlock* b, size_t need, size_t align);
  // allocate() but for calloc's note; inline there, so that malloc pays no extra call.
  [[gnu::always_inline]] inline void* allocate_block(size_t size, size_t align);
  bool grow(size_t need);

  HeapMemory* memory_;
  PristineRange pristine_;  // calloc's fresh zeros (segments.h)
  Tree tree_;
  size_t free_bytes_ = 0;
};

static_assert(Yorktown::kMinBlock == 32, "a free block's prefix and hooks must fit in 32 bytes");

static_assert(HeapPolicy<Yorktown>);

}  // namespace aixmalloc
