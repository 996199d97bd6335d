// MALLOCTYPE=3.1_64BIT (and 3.1 in 32-bit programs), AIX 3.1's original allocator: every
// request is rounded up to a power of two, prefix included, and served from one of 28 buckets;
// bucket i holds blocks of 2^(i+4) bytes. Blocks are never split or merged; a freed block waits on
// its bucket's list for the next request of that bucket.
//
//   small bucket (block < page): one page cut into equal blocks
//     | hdr data | hdr data | hdr data | ... |                   (page)
//   large bucket (block >= page): the block's data is page-aligned, which costs an extra page
//     | chunk hdr ...... blk hdr | data ............................ |
//     ^ chunk (page-aligned)     ^ user pointer = chunk + page
//
// Freed blocks of a page or more give their pages back to the system, as AIX's do, and keep their
// place on the list, once they have stayed free about a second (DecayTimer: the next free after
// that gives back every free block of a page or more): a program that frees and reuses large
// blocks in a loop keeps their pages instead of faulting them in every time.
// realloc stays in place while the new size maps to the same bucket.
#pragma once

#include <boost/intrusive/slist.hpp>

#include "libmalloc/base/block.h"
#include "libmalloc/base/decay.h"
#include "libmalloc/base/format.h"
#include "libmalloc/base/heap_memory.h"
#include "policies/policy.h"

namespace aixmalloc {

class ThreeOne {
 public:
  static constexpr const char* kName = "3.1_64BIT";
  // Blocks tile the heap and free neighbours merge (check() and the tests rely on it).
  static constexpr bool kCoalescing = false;
  static constexpr unsigned kBuckets = 28;

  explicit ThreeOne(HeapMemory* memory) : memory_(memory) {}
  ThreeOne(const ThreeOne&) = delete;
  ThreeOne& operator=(const ThreeOne&) = delete;

  void* allocate(size_t size, size_t align);
  BlockState state(void* p) const;
  FreeRange release(void* p);
  void* reallocate(void* p, size_t size);
  size_t usable_size(void* p) const { return BlockHeader::of(p)->size() - kHeaderSize; }

  size_t free_bytes() const { return listed_bytes_ + (end_ - cursor_); }
  size_t free_blocks() const { return listed_blocks_; }
  size_t largest_free() const;
  size_t disclaim_free();
  bool check(Text* why) const;

  // By AIX's table of bucket sizes, not by the formula printed beside it, which is off by one:
  // needed = request + prefix, the bucket of the smallest power of two >= needed; bucket 0
  // (16 bytes) cannot hold a 16-byte prefix and data.
  // kBuckets when the request is too large for any bucket.
  static unsigned bucket_for(size_t request);
  static size_t block_size(unsigned bucket) { return size_t{16} << bucket; }

  static constexpr size_t kMinBlock = 32;

 private:
  static constexpr uintptr_t kListed = 2;      // block flag: on its bucket's free list
  static constexpr uintptr_t kLargeChunk = 4;  // chunk header flag: a large bucket's chunk
  static constexpr uintptr_t kTailChunk = 8;   // chunk header flag: unused end of an old segment
  static constexpr uintptr_t kSkipChunk = 12;  // chunk header flags: a gap left by an alignment

  struct FreeBlock {
    uintptr_t size_flags;
    boost::intrusive::slist_member_hook<boost::intrusive::link_mode<kLinkMode>> next;
  };
  using List = boost::intrusive::slist<
      FreeBlock, boost::intrusive::member_hook<FreeBlock, decltype(FreeBlock::next), &FreeBlock::next>,
      boost::intrusive::constant_time_size<false>>;

  bool refill(unsigned bucket);
  void* allocate_over_aligned(unsigned bucket, size_t align);
  bool take_chunk(size_t bytes, uintptr_t* chunk);  // page-aligned, from the committed wilderness
  void push(uintptr_t block, size_t size);

  HeapMemory* memory_;
  List lists_[kBuckets];
  uintptr_t cursor_ = 0;  // next unused committed byte of the newest segment (page-aligned)
  uintptr_t end_ = 0;     // end of what is committed there
  size_t listed_bytes_ = 0;
  size_t listed_blocks_ = 0;
  DecayTimer page_return_;
};

static_assert(HeapPolicy<ThreeOne>);

}  // namespace aixmalloc
