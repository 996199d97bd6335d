// MALLOCTYPE=watson, AIX's scalable policy: every free block sits in two red-black trees at once,
// one ordered by address (to find the neighbours to merge with) and one by (size, address) (best
// fit with one lower_bound). malloc takes the smallest block that fits and hands out its *tail*, so
// the remainder keeps its address and the address tree needs no update on a split.
//
//   free block:  | size | by_address hook (3 words) | by_size hook (3 words) | ...
//                                 best fit --> [ remainder stays here | caller gets the tail ]
//
// Requests of 512 bytes or less use Watson's built-in size classes (16-byte steps to 256, 32 to
// 512; AIX's 4- and 8-byte steps below 128 would not change a 16-byte-aligned block): freed small blocks wait on their class list for the next request of that
// class instead of going back to the trees. When the trees cannot satisfy a request, the class
// lists are given back to the trees (merging where they can) before the heap grows.
//
// A piece left over beside a block handed out (best fit, an aligned block, realloc) stays free only
// when it can stand in the trees (kMinBlock); a smaller one stays inside that block and comes back
// with it. (Kept apart on a class list, such a piece could not merge with its neighbours when they
// were freed: under the pool, which serves the small sizes, nothing took them, and they cut the
// free space into pieces too small for any request until the heap was about to grow. Measured on
// tools/bench's xfree_wide, four threads freeing each other's 8 B - 16 KiB blocks, under
// pool,multiheap,threadcache:off: 67,000 free pieces of 94 bytes on average in 6 MiB of heaps once
// every block was freed, and 1.4 times glibc's peak RSS; about 1.05 times with this.)
#pragma once

#include <boost/intrusive/set.hpp>
#include <boost/intrusive/slist.hpp>

#include "libmalloc/base/format.h"
#include "libmalloc/base/heap_memory.h"
#include "libmalloc/base/block.h"
#include "policies/policy.h"
#include "policies/segments.h"

namespace aixmalloc {

class Watson {
 public:
  static constexpr const char* kName = "watson";
  // Blocks tile the heap and free neighbours merge (check() and the tests rely on it).
  static constexpr bool kCoalescing = true;
  static constexpr size_t kSmallMax = 512;

  explicit Watson(HeapMemory* memory) : memory_(memory) {}
  Watson(const Watson&) = delete;
  Watson& operator=(const Watson&) = delete;

  void* allocate(size_t size, size_t align);
  BlockState state(void* p) const;
  FreeRange release(void* p);
  void* reallocate(void* p, size_t size);
  size_t usable_size(void* p) const { return BlockHeader::of(p)->size() - kHeaderSize; }

  size_t free_bytes() const { return free_bytes_ + cached_bytes_; }
  size_t free_blocks() const { return by_address_.size() + cached_blocks_; }
  size_t largest_free() const { return by_size_.empty() ? 0 : by_size_.rbegin()->size(); }
  size_t disclaim_free();
  // About `want` bytes of free pages, lowest first (segments.h): Watson hands out the tail of the
  // smallest block that fits, so the head of a free block is what it reuses last.
  size_t disclaim_free_from(uintptr_t* low, size_t want);
  bool check(Text* why) const;

  // The built-in class a small request maps to (16-byte steps to 256 bytes, 32 to 512), in bytes
  // of user data: the usable size of its block.
  static size_t small_class(size_t request);

 private:
  using Hook = boost::intrusive::set_member_hook<boost::intrusive::link_mode<kLinkMode>,
                                                 boost::intrusive::optimize_size<true>>;
  struct FreeBlock {
    uintptr_t size_flags;
    Hook by_address;
    Hook by_size;
    size_t size() const { return size_flags & ~kFlagMask; }
    uintptr_t addr() const { return reinterpret_cast<uintptr_t>(this); }
    uintptr_t end() const { return addr() + size(); }
  };
  // A small block waiting on its class list: in-use bit clear, kCached set.
  static constexpr uintptr_t kCached = 2;
  struct CachedBlock {
    uintptr_t size_flags;
    boost::intrusive::slist_member_hook<boost::intrusive::link_mode<kLinkMode>> next;
  };
  struct ByAddress {
    bool operator()(const FreeBlock& a, const FreeBlock& b) const { return a.addr() < b.addr(); }
    bool operator()(const FreeBlock& a, uintptr_t k) const { return a.addr() < k; }
    bool operator()(uintptr_t k, const FreeBlock& b) const { return k < b.addr(); }
  };
  struct BySize {
    bool operator()(const FreeBlock& a, const FreeBlock& b) const {
      return a.size() != b.size() ? a.size() < b.size() : a.addr() < b.addr();
    }
    bool operator()(const FreeBlock& a, size_t k) const { return a.size() < k; }
    bool operator()(size_t k, const FreeBlock& b) const { return k < b.size(); }
  };
  using AddressTree = boost::intrusive::set<
      FreeBlock, boost::intrusive::member_hook<FreeBlock, Hook, &FreeBlock::by_address>,
      boost::intrusive::compare<ByAddress>, boost::intrusive::constant_time_size<true>>;
  using SizeTree = boost::intrusive::set<
      FreeBlock, boost::intrusive::member_hook<FreeBlock, Hook, &FreeBlock::by_size>,
      boost::intrusive::compare<BySize>, boost::intrusive::constant_time_size<false>>;
  using ClassList = boost::intrusive::slist<
      CachedBlock,
      boost::intrusive::member_hook<CachedBlock, decltype(CachedBlock::next), &CachedBlock::next>,
      boost::intrusive::constant_time_size<false>>;

 public:
  static constexpr size_t kMinBlock = 64;  // prefix word + two 3-word hooks, rounded to 16
  static constexpr size_t kMinSmallBlock = 32;
  static constexpr size_t kLargestSmallBlock = 528;  // class 512 + prefix

 private:
  static constexpr size_t kLists = kLargestSmallBlock / kAlignment + 1;

  FreeBlock* best_fit(size_t need) const;
  FreeBlock* make_free(uintptr_t at, size_t size);  // prefix + both trees
  void remove(FreeBlock* b);
  void resize(FreeBlock* b, size_t size);  // same address: only the size tree moves
  // Frees [at, at+size) into the trees, merging with free neighbours, and returns the tree block
  // that now holds it. A piece smaller than a tree block with no free neighbour cannot stand in the
  // trees: nullptr, and nothing changed.
  FreeBlock* insert_merging(uintptr_t at, size_t size);
  void* carve_tail(FreeBlock* b, size_t need);
  void* carve_aligned(FreeBlock* b, size_t need, size_t align);
  void* allocate_large(size_t need, size_t align);
  void* allocate_small(size_t block);
  void cache(uintptr_t at, size_t size);
  bool flush_cache();  // class lists back into the trees; true when anything moved
  bool grow(size_t need);
  bool flush_before_growth(size_t need);

  HeapMemory* memory_;
  PristineRange pristine_;  // calloc's fresh zeros (segments.h)
  AddressTree by_address_;
  SizeTree by_size_;
  ClassList lists_[kLists];
  size_t free_bytes_ = 0;
  size_t cached_bytes_ = 0;
  size_t cached_blocks_ = 0;
};

static_assert(sizeof(void*) != 8 || 8 + 2 * 3 * sizeof(void*) <= Watson::kMinBlock,
              "a free block's prefix word and both hooks must fit in the minimum block");

static_assert(HeapPolicy<Watson>);

}  // namespace aixmalloc
