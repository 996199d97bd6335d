// Pieces shared by the coalescing policies (Yorktown, Watson), whose blocks tile every segment:
//
//   | Segment record | fence (in use, never freed) | block | block | ... | block | top
//
// The fence keeps a block from merging with one of an older segment that happens to end right
// below this one; the walk checks that the blocks tile each segment exactly.
#pragma once

#include <iterator>

#include "libmalloc/base/block.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/format.h"
#include "libmalloc/base/fresh.h"
#include "libmalloc/base/heap_memory.h"
#include "libmalloc/base/os.h"

namespace aixmalloc {

// state() of a policy whose blocks tile its segments: in use (prefix and check word right), free
// (a thread-cached block, or a plausible free prefix: a double free), or not a block at all.
inline BlockState tiled_block_state(const HeapMemory& memory, void* p, size_t min_block) {
  if (!prefix_mapped(p)) return BlockState::kNotABlock;  // the prefix may lie in the previous granule
  const BlockHeader* h = BlockHeader::of(p);
  if (h->valid_in_use()) return BlockState::kInUse;
  if (h->cached()) return BlockState::kFree;
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  size_t size = h->size();
  if (!h->in_use() && size >= min_block && memory.owns(a + size - kHeaderSize - 1))
    return BlockState::kFree;
  return BlockState::kNotABlock;
}

// The free blocks that touch a range [at, at+size) of a tiling policy, below and above it (nullptr
// where a block in use or nothing lies there), found in a tree ordered by address with one
// lower_bound and one step back: what free and realloc merge with.
//
// The nearest free blocks must lie apart from the range. An overlap means a size word was
// overwritten (an overflow out of the block below, a write after free): the heap cannot be trusted
// any more, so the process stops (fatal.h), naming `where`. Two compares on words read anyway.
template <class Block>
struct TouchingFreeBlocks {
  Block* below;
  Block* above;
};

template <class Tree, class ByAddress>
TouchingFreeBlocks<typename Tree::value_type> touching_free_blocks(Tree& tree, uintptr_t at,
                                                                   size_t size, ByAddress by,
                                                                   const char* where) {
  auto next = tree.lower_bound(at, by);
  auto* below = next != tree.begin() ? &*std::prev(next) : nullptr;
  auto* above = next != tree.end() ? &*next : nullptr;
  if (__builtin_expect((below && below->end() > at) || (above && above->addr() < at + size), 0))
    report_corruption(where, "a block overlaps a free block", reinterpret_cast<void*>(at));
  return {below && below->end() == at ? below : nullptr,
          above && above->addr() == at + size ? above : nullptr};
}

// The free blocks of a tiling policy, in address order: each well formed (no flags, a size of at
// least min_block and a multiple of the alignment, aligned, inside the heap), none overlapping,
// no two adjacent (they would have merged). `also(b)` adds the policy's own checks of a block and
// returns a reason, or nullptr. *sum and *count receive the free bytes and blocks seen.
template <class Blocks, class Also>
bool check_free_blocks(const Blocks& blocks, const HeapMemory& memory, size_t min_block, Also also,
                       size_t* sum, size_t* count, Text* why) {
  auto fail = [&](const char* what, uintptr_t at) {
    if (why) why->str(what).str(" at ").hex(at);
    return false;
  };
  *sum = *count = 0;
  uintptr_t prev_end = 0;
  for (const auto& b : blocks) {
    if (b.size_flags & kFlagMask) return fail("free block with flags set", b.addr());
    if (b.size() < min_block || b.size() % kAlignment) return fail("bad free block size", b.addr());
    if (b.addr() % kAlignment) return fail("misaligned free block", b.addr());
    if (!memory.owns(b.addr()) || !memory.owns(b.end() - 1))
      return fail("free block outside the heap", b.addr());
    if (prev_end > b.addr()) return fail("overlapping free blocks", b.addr());
    if (prev_end == b.addr()) return fail("adjacent free blocks not merged", b.addr());
    if (const char* reason = also(b)) return fail(reason, b.addr());
    prev_end = b.end();
    *sum += b.size();
    ++*count;
  }
  return true;
}

// Gives back every whole page of every free block, past the `hooks` bytes where a free block keeps
// its prefix and links. Blocks: any range of objects with addr() and end(). Returns bytes.
template <class Blocks>
size_t disclaim_free_pages(const Blocks& blocks, size_t hooks) {
  size_t total = 0, page = page_size();
  for (const auto& b : blocks) {
    uintptr_t from = align_up(b.addr() + hooks, page), to = align_down(b.end(), page);
    if (to > from) {
      os::disclaim(from, to - from);
      total += to - from;
    }
  }
  return total;
}

// Gives back whole pages of free blocks, from the lowest address up, until `want` bytes (whole
// pages) or the last block: from *low, below which every free page went back already, and moves
// *low to where it stopped, or to UINTPTR_MAX past the last block. Blocks: as above, a set ordered
// by address, searched with `by_address`. Returns bytes.
template <class Blocks, class ByAddress>
size_t disclaim_free_pages_from(const Blocks& blocks, ByAddress by_address, size_t hooks, uintptr_t* low,
                                size_t want) {
  size_t total = 0, page = page_size();
  auto it = blocks.upper_bound(*low, by_address);
  if (it != blocks.begin() && std::prev(it)->end() > *low) --it;
  for (; it != blocks.end(); ++it) {
    uintptr_t from = align_up(it->addr() + hooks, page), to = align_down(it->end(), page);
    if (from < align_down(*low, page)) from = align_down(*low, page);
    if (to > from) {
      size_t n = to - from;
      if (n > want - total) n = align_up(want - total, page);
      os::disclaim(from, n);
      total += n;
      if (from + n < to) {
        *low = from + n;
        return total;
      }
    }
    *low = it->end();
    if (total >= want) return total;
  }
  *low = UINTPTR_MAX;
  return total;
}

// Zeros nothing has written since the system gave them, in a tiling policy's heap: the part of its
// latest growths that no block handed out and no prefix or link of the policy's own has touched
// (calloc leaves them as they are: libmalloc/base/fresh.h). Blocks carved from one end of a free
// block (Yorktown its head, Watson its tail) keep it one range beside them. The range lies inside
// the free block that the growths made, so only what writes into a free block reports here (under
// the policy's lock): a growth (the new block's prefix), a carve (the block handed out and the
// remainder's prefix: hand_out) and realloc growing into its neighbour. Freeing writes only at the
// start of the block freed and of its free neighbours, none of it pristine; check() looks at the
// range's ends, where a write not reported would lie.
class PristineRange {
 public:
  // A free block's prefix and links: no tiling policy's take more (both trees' hooks of Watson).
  static constexpr size_t kFreeBlockHooks = 64;

  // [at, at + size) comes fresh from the system; it joins the range when it continues it. `block`
  // is where the policy's free block that now holds it starts: when at `at` (it merged with
  // nothing below), its prefix and links were written there.
  void grown(uintptr_t at, size_t size, uintptr_t block) {
    if (hi_ != at || lo_ == hi_) lo_ = at;
    hi_ = at + size;
    if (block == at) written(at, at + kFreeBlockHooks);
  }
  // [at, end) is written: of what lies below and above it, the larger stays.
  void written(uintptr_t at, uintptr_t end) {
    if (end <= lo_ || at >= hi_) return;
    size_t below = at > lo_ ? at - lo_ : 0;
    size_t above = hi_ > end ? hi_ - end : 0;
    if (below >= above) {
      hi_ = lo_ + below;
    } else {
      lo_ = end;
    }
    if (hi_ <= lo_) lo_ = hi_ = 0;
  }
  // A block [start, end) about to be handed out, whose user part starts at `user`: what of that
  // part is pristine becomes the carved part (note_carved()), and the block leaves the
  // range, with what the carve writes beside it up to `written_end` (the remainder's prefix and
  // links).
  // The carved part is read only after forget_carved() and one carve.
  void hand_out(uintptr_t start, uintptr_t user, uintptr_t end, uintptr_t written_end) {
    if (__builtin_expect(written_end <= lo_ || start >= hi_, 1)) return;  // from elsewhere in the heap
    hand_out_pristine(start, user, end, written_end);
  }
  void forget_carved() { carved_lo_ = carved_hi_ = 0; }
  // Whether [at, end) holds zeros that nothing wrote (what may go back to the heap's memory).
  bool covers(uintptr_t at, uintptr_t end) const { return lo_ <= at && end <= hi_ && at < end; }
  // The policy's allocate, after one carve of `user` for a request of `size` bytes: calloc's note
  // (libmalloc/base/fresh.h).
  void note_carved(void* user, size_t size) const { fresh::note(user, size, carved_lo_, carved_hi_); }
  // check(): the range's ends hold zeros (a write of the policy's beside a block it handed out, not
  // reported, would lie there). Its address, or 0.
  uintptr_t nonzero_at_ends() const {
    constexpr size_t kEnd = 512;
    size_t len = hi_ - lo_;
    for (uintptr_t a : {lo_, len > kEnd ? hi_ - kEnd : lo_}) {
      const auto* p = reinterpret_cast<const unsigned char*>(a);
      for (size_t i = 0; i < kEnd && i < len; ++i)
        if (p[i] != 0) return a + i;
    }
    return 0;
  }

 private:
  [[gnu::noinline]] void hand_out_pristine(uintptr_t start, uintptr_t user, uintptr_t end, uintptr_t written_end) {
    carved_lo_ = user > lo_ ? user : lo_;
    carved_hi_ = end < hi_ ? end : hi_;
    if (carved_hi_ <= carved_lo_) carved_lo_ = carved_hi_ = 0;
    written(start, written_end);
  }

  uintptr_t lo_ = 0, hi_ = 0;
  uintptr_t carved_lo_ = 0, carved_hi_ = 0;
};

// How much to ask the heap for, to make a free block of `need` bytes. When the highest free block
// (`have` bytes, 0 if none) ends at the top of the newest segment and that segment has room, only
// what it lacks: the new space merges with it, as sbrk extends the last free block on AIX. When the
// segment is full the growth opens a new segment, which the old block cannot join: all of it.
inline size_t grow_amount(const HeapMemory& memory, size_t need, size_t have, size_t fence_size) {
  const Segment* seg = memory.segments();
  if (seg == nullptr || have == 0) return need;
  size_t lack = need > have ? need - have : kAlignment;
  return seg->end - seg->handed >= lack + fence_size ? lack : need;
}

// Grows the heap by at least `bytes` and returns the new free range in *start, *size, with the
// fence already written when the range opens a new segment. False when the OS refuses.
inline bool grow_fenced(HeapMemory* memory, size_t bytes, size_t fence_size, uintptr_t* start,
                        size_t* size) {
  HeapMemory::Grown g;
  if (!memory->grow(bytes, &g, fence_size)) return false;
  if (g.new_segment) {
    BlockHeader::at(g.start)->mark_fence(fence_size);
    g.start += fence_size;
    g.size -= fence_size;
  }
  *start = g.start;
  *size = g.size;
  return true;
}

// Grows a tiling policy's heap so that a free block of `need` bytes exists, and hands the new range
// to `insert` (the policy's merging insert). `by_address` is the policy's free blocks in address
// order: when the highest ends at the top of the newest segment, only what it lacks is asked for.
template <class Blocks, class Insert>
bool grow_tiled(HeapMemory* memory, size_t need, size_t fence_size, const Blocks& by_address,
                Insert insert) {
  const Segment* seg = memory->segments();
  size_t have = 0;
  if (seg && !by_address.empty() && by_address.rbegin()->end() == seg->handed)
    have = by_address.rbegin()->size();
  // The segment's reservation grows in place as it fills (heap_memory.h): make it hold what the top
  // block lacks, so that the growth joins that block.
  if (have) memory->ensure_room((need > have ? need - have : kAlignment) + fence_size);
  uintptr_t start;
  size_t size;
  if (!grow_fenced(memory, grow_amount(*memory, need, have, fence_size), fence_size, &start, &size))
    return false;
  insert(start, size);
  return true;
}

// Walks every block of every segment. `is_listed(a)` says whether the free block at `a` is in the
// policy's free structures; returns false with a reason when the tiling or a prefix is wrong.
// *free_seen receives the number of free blocks met.
template <class IsListed>
bool walk_segments(const HeapMemory& memory, size_t fence_size, size_t min_block, IsListed is_listed,
                   size_t* free_seen, Text* why) {
  auto fail = [&](const char* what, uintptr_t at) {
    if (why) why->str(what).str(" at ").hex(at);
    return false;
  };
  size_t committed = 0;
  *free_seen = 0;
  for (const Segment* s = memory.segments(); s; s = s->next) {
    committed += s->top - s->base;
    uintptr_t a = s->first_block();
    const BlockHeader* fence = BlockHeader::at(a);
    if (fence->check != (kFenceMagic ^ a) || fence->size() != fence_size)
      return fail("segment fence damaged", a);
    for (a += fence_size; a < s->handed;) {
      const BlockHeader* h = BlockHeader::at(a);
      size_t size = h->size();
      if (size < min_block || size % kAlignment || a + size > s->handed)
        return fail("block size runs off the segment", a);
      if (h->in_use()) {
        if (!h->valid_in_use() && !h->cached()) return fail("in-use block with a bad check word", a);
      } else {
        if (!is_listed(a)) return fail("free block missing from the free structures", a);
        ++*free_seen;
      }
      a += size;
    }
  }
  if (committed != memory.committed()) return fail("segments do not add up to committed", committed);
  return true;
}

}  // namespace aixmalloc
