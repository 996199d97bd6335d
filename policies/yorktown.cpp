// The Yorktown policy (yorktown.h): the lowest-addressed fit found by descending the Cartesian
// tree, splits and merges, AIX's realloc order, and check() (tree order, heap order, tiling).
#include "policies/yorktown.h"

#include <cstring>
#include <new>

#include "libmalloc/base/fresh.h"
#include "libmalloc/base/os.h"
#include "policies/segments.h"

namespace aixmalloc {

namespace {
constexpr const char* kHeapName = "the Yorktown heap";  // for the corruption report
}  // namespace

Yorktown::FreeBlock* Yorktown::lowest_fit(size_t need) const {
  using Traits = Tree::node_traits;
  using Values = Tree::value_traits;
  if (tree_.empty()) return nullptr;
  auto node = tree_.root().pointed_node();
  if (Values::to_value_ptr(node)->size() < need) return nullptr;
  // Invariant: `node` fits. Its left subtree holds every lower address; its root is the largest
  // block there, so if even that one is too small, nothing lower fits and `node` is the answer.
  for (;;) {
    auto left = Traits::get_left(node);
    if (left && Values::to_value_ptr(left)->size() >= need) {
      node = left;
      continue;
    }
    return const_cast<FreeBlock*>(Values::to_value_ptr(node));
  }
}

Yorktown::FreeBlock* Yorktown::make_free(uintptr_t at, size_t size) {
  auto* b = new (reinterpret_cast<void*>(at)) FreeBlock;
  b->size_flags = size;
  tree_.insert_equal(*b);
  free_bytes_ += size;
  return b;
}

void Yorktown::remove(FreeBlock* b) {
  tree_.erase(Tree::s_iterator_to(*b));
  free_bytes_ -= b->size();
}

// Most splits and merges leave a block's size between its parent's and its children's, so the tree
// keeps its shape; otherwise the block moves by rotations, up while it is larger than its parent
// or down while a child is larger, as far as it must and no further (taking it out and putting it
// back descended from the root twice). A treap with distinct priorities has only one shape, so
// the tree is the one insertion would have built, and the lowest-addressed fit the same.
void Yorktown::settle(FreeBlock* b) {
  using Traits = Tree::node_traits;
  using Values = Tree::value_traits;
  using Algo = boost::intrusive::bstree_algorithms<Traits>;
  struct Rotate : Algo {  // the rotations Boost.Intrusive's treap makes, protected in their class
    using Algo::rotate_left;
    using Algo::rotate_right;
  };
  LargerFirst above;
  auto node = Values::to_node_ptr(*b);
  auto header = Traits::get_parent(tree_.root().pointed_node());
  for (;;) {  // up
    auto parent = Traits::get_parent(node);
    if (parent == header || !above(*b, *Values::to_value_ptr(parent))) break;
    auto grand = Traits::get_parent(parent);
    if (Traits::get_left(parent) == node) {
      Rotate::rotate_right(parent, node, grand, header);
    } else {
      Rotate::rotate_left(parent, node, grand, header);
    }
  }
  for (;;) {  // down
    auto left = Traits::get_left(node), right = Traits::get_right(node);
    auto child = left;
    if (!left || (right && above(*Values::to_value_ptr(right), *Values::to_value_ptr(left)))) child = right;
    if (!child || !above(*Values::to_value_ptr(child), *b)) break;
    auto parent = Traits::get_parent(node);
    if (child == left) {
      Rotate::rotate_right(node, left, parent, header);
    } else {
      Rotate::rotate_left(node, right, parent, header);
    }
  }
}

Yorktown::FreeBlock* Yorktown::take_place(FreeBlock* old, uintptr_t at, size_t size) {
  free_bytes_ += size - old->size();
  auto* b = new (reinterpret_cast<void*>(at)) FreeBlock;
  b->size_flags = size;
  tree_.replace_node(Tree::s_iterator_to(*old), *b);
  settle(b);
  return b;
}

Yorktown::FreeBlock* Yorktown::insert_merging(uintptr_t at, size_t size) {
  auto [left, right] = touching_free_blocks(tree_, at, size, ByAddress(), kHeapName);
  if (left) {  // the lower neighbour grows over the block (and the upper neighbour) in its place
    if (right) {
      size += right->size();
      remove(right);
    }
    free_bytes_ += size;
    left->size_flags = left->size() + size;
    settle(left);
    return left;
  }
  // The block (with the upper neighbour) takes the upper neighbour's place: nothing lies between.
  if (right) return take_place(right, at, size + right->size());
  return make_free(at, size);
}

// b is still in the tree: the runt after the allocated head takes b's place (usually without moving).
void* Yorktown::carve_in_place(FreeBlock* b, size_t need) {
  uintptr_t at = b->addr();
  size_t size = b->size();
  uintptr_t written_end = at + size;
  if (size - need >= kMinBlock) {
    take_place(b, at + need, size - need);
    size = need;
    written_end = at + need + sizeof(FreeBlock);
  } else {
    remove(b);
  }
  pristine_.hand_out(at, at + kHeaderSize, at + size, written_end);
  BlockHeader* h = BlockHeader::at(at);
  h->mark_in_use(size);
  return h->user();
}

void* Yorktown::carve(FreeBlock* b, size_t need) {
  uintptr_t at = b->addr();
  size_t size = b->size();
  uintptr_t written_end = at + size;
  if (size - need >= kMinBlock) {
    // The runt's neighbours are this block and whatever followed b, which was not free.
    make_free(at + need, size - need);
    size = need;
    written_end = at + need + sizeof(FreeBlock);
  }
  pristine_.hand_out(at, at + kHeaderSize, at + size, written_end);
  BlockHeader* h = BlockHeader::at(at);
  h->mark_in_use(size);
  return h->user();
}

void* Yorktown::carve_aligned(FreeBlock* b, size_t need, size_t align) {
  uintptr_t at = b->addr();
  size_t size = b->size();
  uintptr_t user = align_up(at + kHeaderSize, align);
  // A leading gap must be able to stand as a free block of its own.
  if (user - kHeaderSize != at && user - kHeaderSize - at < kMinBlock) user += align;
  uintptr_t start = user - kHeaderSize;
  if (start != at) {
    make_free(at, start - at);  // its left neighbour was b's, which was not free
    size -= start - at;
  }
  FreeBlock* rest = reinterpret_cast<FreeBlock*>(start);
  pristine_.written(start, start + sizeof(rest->size_flags));
  rest->size_flags = size;
  return carve(rest, need);
}

bool Yorktown::grow(size_t need) {
  return grow_tiled(memory_, need, kMinBlock, tree_, [this](uintptr_t at, size_t size) {
    static_assert(sizeof(FreeBlock) <= PristineRange::kFreeBlockHooks);
    FreeBlock* b = insert_merging(at, size);
    pristine_.grown(at, size, b ? b->addr() : at);
  });
}

void* Yorktown::allocate(size_t size, size_t align) {
  if (size < fresh::kMinBytes) return allocate_block(size, align);  // no note: calloc clears all
  pristine_.forget_carved();
  void* p = allocate_block(size, align);
  if (p != nullptr) pristine_.note_carved(p, size);
  return p;
}

void* Yorktown::allocate_block(size_t size, size_t align) {
  size_t need = block_size_for(size, kMinBlock);
  size_t search = align <= kAlignment ? need : need + align + kMinBlock;
  FreeBlock* b = lowest_fit(search);
  if (b == nullptr) {
    if (!grow(search)) return nullptr;
    b = lowest_fit(search);
    if (b == nullptr) return nullptr;
  }
  if (align <= kAlignment) return carve_in_place(b, need);
  remove(b);
  return carve_aligned(b, need, align);
}

BlockState Yorktown::state(void* p) const { return tiled_block_state(*memory_, p, kMinBlock); }

FreeRange Yorktown::release(void* p) {
  BlockHeader* h = BlockHeader::of(p);
  FreeBlock* b = insert_merging(reinterpret_cast<uintptr_t>(h), h->size());
  return FreeRange{b->addr(), b->size()};
}

void* Yorktown::reallocate(void* p, size_t size) {
  BlockHeader* h = BlockHeader::of(p);
  uintptr_t at = reinterpret_cast<uintptr_t>(h);
  size_t old = h->size();
  size_t need = block_size_for(size, kMinBlock);
  if (need <= old) {  // shrink in place; the tail goes back to the tree
    if (old - need >= kMinBlock) {
      h->mark_in_use(need);
      insert_merging(at + need, old - need);
    }
    return p;
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto [left, right] = touching_free_blocks(tree_, at, old, ByAddress(), kHeapName);
    size_t right_size = right ? right->size() : 0;
    if (old + right_size >= need) {  // grow in place into the following free block
      remove(right);
      pristine_.written(at, at + old + right_size);  // the block and its new neighbour's prefix
      h->size_flags = (old + right_size) | kInUse;
      if (old + right_size - need >= kMinBlock) {
        h->mark_in_use(need);
        make_free(at + need, old + right_size - need);
      }
      return p;
    }
    // AIX: the old block is freed first (coalescing) and the lowest-addressed fit is taken. The
    // coalesced block wins only when no free block below it fits.
    size_t left_size = left ? left->size() : 0;
    uintptr_t merged_at = left ? left->addr() : at;
    size_t merged = left_size + old + right_size;
    FreeBlock* other = lowest_fit(need);
    if (merged >= need && (other == nullptr || merged_at < other->addr())) {
      if (right) remove(right);
      if (left) remove(left);
      pristine_.written(merged_at, merged_at + merged);
      memmove(reinterpret_cast<void*>(merged_at + kHeaderSize), p, old - kHeaderSize);
      auto* whole = reinterpret_cast<FreeBlock*>(merged_at);
      whole->size_flags = merged;
      return carve(whole, need);
    }
    if (other != nullptr) {
      remove(other);
      void* q = carve(other, need);
      memcpy(q, p, old - kHeaderSize);
      release(p);
      return q;
    }
    if (attempt == 0 && !grow(need)) return nullptr;
  }
  return nullptr;
}

size_t Yorktown::disclaim_free() { return disclaim_free_pages(tree_, kMinBlock); }

bool Yorktown::check(Text* why) const {
  using Traits = Tree::node_traits;
  using Values = Tree::value_traits;
  auto fail = [&](const char* what, uintptr_t at) {
    if (why) why->str(what).str(" at ").hex(at);
    return false;
  };
  // The tree: address order and well-formed blocks (shared), and heap order by size (its own).
  auto heap_order = [](const FreeBlock& b) -> const char* {
    auto node = Tree::value_traits::to_node_ptr(const_cast<FreeBlock&>(b));
    for (auto child : {Traits::get_left(node), Traits::get_right(node)})
      if (child && Values::to_value_ptr(child)->size() > b.size())
        return "heap order broken: child larger than parent";
    return nullptr;
  };
  size_t sum, count;
  if (!check_free_blocks(tree_, *memory_, kMinBlock, heap_order, &sum, &count, why)) return false;
  if (sum != free_bytes_) return fail("free byte count differs from the tree", sum);
  // The segments, block by block: every committed byte is in exactly one block.
  size_t walked_free = 0;
  auto listed = [&](uintptr_t a) { return tree_.find(a, ByAddress()) != tree_.end(); };
  if (!walk_segments(*memory_, kMinBlock, kMinBlock, listed, &walked_free, why)) return false;
  if (walked_free != count) return fail("tree holds blocks the heap walk did not find", count);
  if (uintptr_t a = pristine_.nonzero_at_ends()) return fail("a written byte in the range kept as zeros", a);
  return true;
}

}  // namespace aixmalloc
