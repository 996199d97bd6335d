// The Watson policy (watson.h): best fit from the size tree, the tail carved off, merges found in
// the address tree, the built-in small classes, and the check() that walks both trees and the heap.
#include "policies/watson.h"

#include <cstring>
#include <new>

#include "libmalloc/base/fresh.h"
#include "libmalloc/base/os.h"
#include "policies/segments.h"

namespace aixmalloc {

namespace {

constexpr const char* kHeapName = "the watson heap";  // for the corruption report

// The block a small request occupies: its class plus the prefix, rounded to the alignment.
size_t small_block(size_t request) {
  size_t b = align_up(Watson::small_class(request) + kHeaderSize, kAlignment);
  return b < Watson::kMinSmallBlock ? Watson::kMinSmallBlock : b;
}

}  // namespace

// AIX's table steps by 4 bytes up to 32 and by 8 up to 128, for its 8-byte prefix and 8-byte
// alignment of 32-bit programs. Here every block is 16-byte aligned behind a 16-byte prefix, so
// classes 4 or 8 bytes apart would be blocks of one size on separate lists: the classes step by 16
// up to 256 (as AIX's do from 129), then by 32 to 512, and a class is exactly its usable size.
size_t Watson::small_class(size_t request) {
  if (request <= 256) return request <= kAlignment ? kAlignment : align_up(request, kAlignment);
  return align_up(request, 32);
}

Watson::FreeBlock* Watson::best_fit(size_t need) const {
  auto it = by_size_.lower_bound(need, BySize());
  return it == by_size_.end() ? nullptr : const_cast<FreeBlock*>(&*it);
}

Watson::FreeBlock* Watson::make_free(uintptr_t at, size_t size) {
  auto* b = new (reinterpret_cast<void*>(at)) FreeBlock;
  b->size_flags = size;
  by_address_.insert(*b);
  by_size_.insert(*b);
  free_bytes_ += size;
  return b;
}

void Watson::remove(FreeBlock* b) {
  by_size_.erase(SizeTree::s_iterator_to(*b));
  by_address_.erase(AddressTree::s_iterator_to(*b));
  free_bytes_ -= b->size();
}

void Watson::resize(FreeBlock* b, size_t size) {
  by_size_.erase(SizeTree::s_iterator_to(*b));
  free_bytes_ += size - b->size();
  b->size_flags = size;
  by_size_.insert(*b);
}

Watson::FreeBlock* Watson::insert_merging(uintptr_t at, size_t size) {
  auto [left, right] = touching_free_blocks(by_address_, at, size, ByAddress(), kHeapName);
  if (left) {  // the lower neighbour absorbs the block (and the upper one): it keeps its address
    size_t total = left->size() + size;
    if (right) {
      total += right->size();
      remove(right);
    }
    resize(left, total);
    return left;
  }
  if (right) {
    size += right->size();
    remove(right);
  } else if (size < kMinBlock) {
    return nullptr;
  }
  return make_free(at, size);
}

void Watson::cache(uintptr_t at, size_t size) {
  auto* c = new (reinterpret_cast<void*>(at)) CachedBlock;
  c->size_flags = size | kCached;
  lists_[size / kAlignment].push_front(*c);
  cached_bytes_ += size;
  ++cached_blocks_;
}

// A piece left over beside an allocation stays free only if it can be a tree block; a smaller one
// stays inside the block handed out (see watson.h).
void* Watson::carve_tail(FreeBlock* b, size_t need) {
  uintptr_t at = b->addr();
  size_t size = b->size();
  size_t rest = size - need;
  if (rest >= kMinBlock) {
    resize(b, rest);  // the remainder keeps its address: the address tree is untouched
  } else {
    remove(b);
    need = size;
  }
  uintptr_t start = at + size - need;
  pristine_.hand_out(start, start + kHeaderSize, at + size, at + size);
  BlockHeader* h = BlockHeader::at(start);
  h->mark_in_use(need);
  return h->user();
}

void* Watson::carve_aligned(FreeBlock* b, size_t need, size_t align) {
  uintptr_t at = b->addr();
  size_t size = b->size();
  remove(b);
  uintptr_t user = align_up(at + kHeaderSize, align);
  // A leading gap must be able to stand as a tree block (the search left room for that).
  while (user - kHeaderSize != at && user - kHeaderSize - at < kMinBlock) user += align;
  uintptr_t start = user - kHeaderSize;
  if (start != at) make_free(at, start - at);  // b's neighbours were not free: no merge needed
  size_t rest = at + size - (start + need);
  uintptr_t written_end = start + need;
  bool taken_back = false;
  if (rest >= kMinBlock) {
    // What the alignment left above the block, fresh at the top of the heap: back to the heap's
    // memory, unwritten (a large aligned buffer, as coreutils' cat takes, touched one page more
    // for the prefix of this free block). Only zeros nothing wrote: the heap hands it out again
    // as fresh memory, which calloc does not clear.
    taken_back = pristine_.covers(start + need, start + need + rest) &&
                 memory_->take_back(start + need, rest);
    if (!taken_back) {
      make_free(start + need, rest);
      written_end += sizeof(FreeBlock);
    }
  } else {
    need += rest;
    written_end += rest;
  }
  pristine_.hand_out(start, user, start + need, written_end);
  if (taken_back) pristine_.written(start + need, start + need + rest);  // no longer the heap's
  BlockHeader::at(start)->mark_in_use(need);
  return reinterpret_cast<void*>(user);
}

bool Watson::flush_cache() {
  bool moved = false;
  // A small block merges only with a neighbour already in the trees; a second pass catches blocks
  // whose neighbour arrived in the first.
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < kLists; ++i) {
      ClassList keep;
      while (!lists_[i].empty()) {
        CachedBlock* c = &lists_[i].front();
        lists_[i].pop_front();
        uintptr_t at = reinterpret_cast<uintptr_t>(c);
        size_t size = c->size_flags & ~kFlagMask;
        cached_bytes_ -= size;
        --cached_blocks_;
        if (insert_merging(at, size) != nullptr) {
          moved = true;
        } else {
          c->size_flags = size | kCached;
          keep.push_front(*c);
          cached_bytes_ += size;
          ++cached_blocks_;
        }
      }
      lists_[i].swap(keep);
    }
  }
  return moved;
}

bool Watson::grow(size_t need) {
  // A small block's size (32, 48) is below what a tree block can be: a growth that small could not
  // be listed, and would be lost. Ask for a tree block at least; the rest stays free beside it.
  if (need < kMinBlock) need = kMinBlock;
  return grow_tiled(memory_, need, kMinBlock, by_address_, [this](uintptr_t at, size_t size) {
    static_assert(sizeof(FreeBlock) <= PristineRange::kFreeBlockHooks);
    FreeBlock* b = insert_merging(at, size);
    pristine_.grown(at, size, b ? b->addr() : at);
  });
}

// The cached small blocks go back to the trees before the heap grows, so that they may merge into
// what a request needs; but not while the heap keeps enough committed above its blocks for it
// (HeapMemory::kept()): that growth costs nothing, and a flush walks every class list. (When a
// growth step went to the trees whole, a request found it there without a flush; since the heap
// hands out only what is asked, every refill of a class list flushed, and a small malloc/free
// pair went from 310 to 600 instructions.)
bool Watson::flush_before_growth(size_t need) {
  return memory_->kept() < need + kMinBlock && flush_cache();
}

void* Watson::allocate_large(size_t need, size_t align) {
  size_t search = align <= kAlignment ? need : need + align + kMinBlock;
  FreeBlock* b = best_fit(search);
  if (b == nullptr && flush_before_growth(search)) b = best_fit(search);
  if (b == nullptr) {
    if (!grow(search)) return nullptr;
    b = best_fit(search);
    if (b == nullptr) return nullptr;
  }
  return align <= kAlignment ? carve_tail(b, need) : carve_aligned(b, need, align);
}

void* Watson::allocate_small(size_t block) {
  ClassList& list = lists_[block / kAlignment];
  if (list.empty()) {
    // Refill with about 4 KiB of blocks carved as one piece: one tree operation for many requests.
    size_t count = 4096 / block < 4 ? 4 : 4096 / block;
    void* run = allocate_large(count * block, kAlignment);
    if (run == nullptr) run = allocate_large(block, kAlignment);
    if (run == nullptr) return nullptr;
    BlockHeader* h = BlockHeader::of(run);
    uintptr_t at = reinterpret_cast<uintptr_t>(h);
    size_t total = h->size();
    // The last block takes what does not divide evenly; it goes to the list of its own size.
    for (uintptr_t end = at + total; at < end;) {
      size_t size = end - at < 2 * block ? end - at : block;
      if (size <= kLargestSmallBlock) {
        cache(at, size);
      } else {
        insert_merging(at, size);
      }
      at += size;
    }
    if (list.empty()) return nullptr;
  }
  CachedBlock* c = &list.front();
  list.pop_front();
  cached_bytes_ -= block;
  --cached_blocks_;
  BlockHeader* h = BlockHeader::at(reinterpret_cast<uintptr_t>(c));
  h->mark_in_use(block);
  return h->user();
}

void* Watson::allocate(size_t size, size_t align) {
  if (size <= kSmallMax && align <= kAlignment) return allocate_small(small_block(size));
  if (size < fresh::kMinBytes) return allocate_large(block_size_for(size, kMinBlock), align);
  pristine_.forget_carved();
  void* p = allocate_large(block_size_for(size, kMinBlock), align);
  if (p != nullptr) pristine_.note_carved(p, size);
  return p;
}

BlockState Watson::state(void* p) const { return tiled_block_state(*memory_, p, kMinSmallBlock); }

FreeRange Watson::release(void* p) {
  BlockHeader* h = BlockHeader::of(p);
  uintptr_t at = reinterpret_cast<uintptr_t>(h);
  size_t size = h->size();
  if (size <= kLargestSmallBlock) {
    cache(at, size);
    return FreeRange{};
  }
  FreeBlock* b = insert_merging(at, size);
  return FreeRange{b->addr(), b->size()};
}

void* Watson::reallocate(void* p, size_t size) {
  BlockHeader* h = BlockHeader::of(p);
  uintptr_t at = reinterpret_cast<uintptr_t>(h);
  size_t old = h->size();
  size_t need = size <= kSmallMax ? small_block(size) : block_size_for(size, kMinBlock);
  if (need <= old) {  // shrink in place; the tail goes back if it can be or join a tree block
    size_t rest = old - need;
    if (rest >= kMinSmallBlock) {
      h->mark_in_use(need);
      if (insert_merging(at + need, rest) == nullptr) h->mark_in_use(old);
    }
    return p;
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto [left, right] = touching_free_blocks(by_address_, at, old, ByAddress(), kHeapName);
    size_t right_size = right ? right->size() : 0;
    if (old + right_size >= need) {  // grow in place into the following free block
      remove(right);
      size_t total = old + right_size, rest = total - need;
      if (rest >= kMinBlock) {
        make_free(at + need, rest);
      } else {
        need = total;
      }
      pristine_.written(at, at + need + sizeof(FreeBlock));  // with the remainder's prefix
      h->mark_in_use(need);
      return p;
    }
    // AIX: free the old block (merging), then take the best fit; the merged block wins when it is
    // the smallest that fits. Watson hands out the tail of whichever block it takes.
    uintptr_t merged_at = left ? left->addr() : at;
    size_t merged = (left ? left->size() : 0) + old + right_size;
    FreeBlock* other = best_fit(need);
    if (merged >= need && (other == nullptr || merged < other->size() ||
                           (merged == other->size() && merged_at < other->addr()))) {
      if (right) remove(right);
      if (left) remove(left);
      size_t rest = merged - need;
      if (rest < kMinBlock) need = merged, rest = 0;
      uintptr_t dest = merged_at + rest;
      pristine_.written(dest, dest + need);
      memmove(reinterpret_cast<void*>(dest + kHeaderSize), p, old - kHeaderSize);
      if (rest) make_free(merged_at, rest);
      BlockHeader::at(dest)->mark_in_use(need);
      return BlockHeader::at(dest)->user();
    }
    if (other != nullptr) {
      void* q = carve_tail(other, need);
      memcpy(q, p, old - kHeaderSize);
      release(p);
      return q;
    }
    if (attempt == 0) {
      if (!flush_before_growth(need) && !grow(need)) return nullptr;
    } else if (attempt == 1 && !grow(need)) {
      return nullptr;
    }
  }
  return nullptr;
}

size_t Watson::disclaim_free() { return disclaim_free_pages(by_address_, kMinBlock); }
size_t Watson::disclaim_free_from(uintptr_t* low, size_t want) {
  return disclaim_free_pages_from(by_address_, ByAddress(), kMinBlock, low, want);
}

bool Watson::check(Text* why) const {
  auto fail = [&](const char* what, uintptr_t at) {
    if (why) why->str(what).str(" at ").hex(at);
    return false;
  };
  // The address tree: address order and well-formed blocks (shared); each also in the size tree.
  auto also_by_size = [this](const FreeBlock& b) -> const char* {
    return by_size_.find(b) == by_size_.end() ? "block missing from the size tree" : nullptr;
  };
  size_t sum, count;
  if (!check_free_blocks(by_address_, *memory_, kMinBlock, also_by_size, &sum, &count, why))
    return false;
  if (sum != free_bytes_) return fail("free byte count differs from the trees", sum);
  size_t in_size_tree = 0;
  for (const FreeBlock& b : by_size_) {
    if (by_address_.find(b) == by_address_.end()) return fail("block missing from the address tree", b.addr());
    ++in_size_tree;
  }
  if (in_size_tree != count) return fail("the trees hold different blocks", in_size_tree);
  size_t cached = 0, cached_bytes = 0;
  for (size_t i = 0; i < kLists; ++i) {
    for (const CachedBlock& c : lists_[i]) {
      uintptr_t a = reinterpret_cast<uintptr_t>(&c);
      if ((c.size_flags & kFlagMask) != kCached) return fail("class list block with bad flags", a);
      if ((c.size_flags & ~kFlagMask) != i * kAlignment) return fail("block on the wrong class list", a);
      if (!memory_->owns(a)) return fail("class list block outside the heap", a);
      ++cached;
      cached_bytes += i * kAlignment;
    }
  }
  if (cached != cached_blocks_ || cached_bytes != cached_bytes_)
    return fail("class list counts differ from the lists", cached);
  size_t walked_free = 0;
  auto listed = [&](uintptr_t a) {
    return (BlockHeader::at(a)->size_flags & kCached) ||
           by_address_.find(a, ByAddress()) != by_address_.end();
  };
  if (!walk_segments(*memory_, kMinBlock, kMinSmallBlock, listed, &walked_free, why)) return false;
  if (walked_free != count + cached) return fail("free structures hold blocks the walk did not find", walked_free);
  if (uintptr_t a = pristine_.nonzero_at_ends()) return fail("a written byte in the range kept as zeros", a);
  return true;
}

}  // namespace aixmalloc
