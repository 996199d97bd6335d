// The 3.1 policy (three_one.h): buckets refilled a page (or one page-aligned block) at a time from
// the heap's top, and the check() that walks every chunk of every segment.
#include "policies/three_one.h"

#include <cstring>
#include <new>

#include "libmalloc/base/os.h"

namespace aixmalloc {

unsigned ThreeOne::bucket_for(size_t request) {
  size_t needed = request + kHeaderSize;
  if (needed < request || needed > block_size(kBuckets - 1)) return kBuckets;
  // The smallest power of two >= needed is 2^(64 - clz(needed - 1)); bucket i holds 2^(i+4).
  unsigned bucket = 64 - static_cast<unsigned>(__builtin_clzll(needed - 1)) - 4;
  return bucket < 1 ? 1 : bucket;
}

size_t ThreeOne::largest_free() const {
  size_t largest = end_ - cursor_;
  for (unsigned b = kBuckets; b-- > 0;) {
    if (!lists_[b].empty()) return block_size(b) > largest ? block_size(b) : largest;
  }
  return largest;
}

void ThreeOne::push(uintptr_t block, size_t size) {
  auto* f = new (reinterpret_cast<void*>(block)) FreeBlock;
  f->size_flags = size | kListed;
  unsigned bucket = static_cast<unsigned>(__builtin_ctzll(size)) - 4;
  lists_[bucket].push_front(*f);
  listed_bytes_ += size;
  ++listed_blocks_;
}

bool ThreeOne::take_chunk(size_t bytes, uintptr_t* chunk) {
  size_t page = page_size();
  if (end_ - cursor_ < bytes) {
    HeapMemory::Grown g;
    if (!memory_->grow(bytes + page, &g)) return false;
    if (g.new_segment || g.start != end_) {
      // Mark the unused end of the old segment so that a walk knows where its chunks stop.
      if (end_ > cursor_) BlockHeader::at(cursor_)->size_flags = (end_ - cursor_) | kTailChunk;
      cursor_ = align_up(g.start, page);
    }
    end_ = g.start + g.size;
    if (end_ - cursor_ < bytes) return false;
  }
  *chunk = cursor_;
  cursor_ += bytes;
  return true;
}

bool ThreeOne::refill(unsigned bucket) {
  size_t page = page_size(), size = block_size(bucket);
  uintptr_t chunk;
  if (size < page) {  // one page cut into blocks of this bucket
    if (!take_chunk(page, &chunk)) return false;
    for (uintptr_t a = chunk + page - size; a >= chunk; a -= size) {
      push(a, size);
      if (a == chunk) break;
    }
    return true;
  }
  // One block with page-aligned data and an extra page in front for the prefix, as AIX counts it.
  if (!take_chunk(size + page, &chunk)) return false;
  BlockHeader::at(chunk)->size_flags = (size + page) | kLargeChunk;
  push(chunk + page - kHeaderSize, size);
  return true;
}

void* ThreeOne::allocate(size_t size, size_t align) {
  unsigned bucket = bucket_for(size);
  size_t page = page_size();
  if (align > kAlignment) {
    // A small block's data starts 16 bytes into a size-aligned slot; only a large bucket's data is
    // aligned further (to a page). Aligned requests take one.
    while (bucket < kBuckets && block_size(bucket) < page) ++bucket;
    if (align > page) return allocate_over_aligned(bucket, align);
  }
  if (bucket >= kBuckets) return nullptr;
  if (lists_[bucket].empty() && !refill(bucket)) return nullptr;
  FreeBlock* f = &lists_[bucket].front();
  lists_[bucket].pop_front();
  listed_bytes_ -= block_size(bucket);
  --listed_blocks_;
  BlockHeader* h = BlockHeader::at(reinterpret_cast<uintptr_t>(f));
  h->mark_in_use(block_size(bucket));
  return h->user();
}

void* ThreeOne::allocate_over_aligned(unsigned bucket, size_t align) {
  if (bucket >= kBuckets) return nullptr;
  size_t page = page_size(), size = block_size(bucket);
  uintptr_t chunk;
  if (!take_chunk(size + page + align, &chunk)) return nullptr;
  uintptr_t start = align_up(chunk + page, align) - page;  // so that start + page is aligned
  uintptr_t end = chunk + size + page + align;
  if (start > chunk) BlockHeader::at(chunk)->size_flags = (start - chunk) | kSkipChunk;
  BlockHeader::at(start)->size_flags = (size + page) | kLargeChunk;
  uintptr_t after = start + size + page;  // at least a page remains: the gaps add up to `align`
  BlockHeader::at(after)->size_flags = (end - after) | kSkipChunk;
  BlockHeader* h = BlockHeader::at(start + page - kHeaderSize);
  h->mark_in_use(size);
  return h->user();
}

BlockState ThreeOne::state(void* p) const {
  if (!prefix_mapped(p)) return BlockState::kNotABlock;  // the prefix may lie in the previous granule
  const BlockHeader* h = BlockHeader::of(p);
  if (h->valid_in_use()) return BlockState::kInUse;
  if (h->cached()) return BlockState::kFree;
  if ((h->size_flags & kFlagMask) == kListed && is_power_of_two(h->size()) && h->size() >= kMinBlock)
    return BlockState::kFree;
  return BlockState::kNotABlock;
}

FreeRange ThreeOne::release(void* p) {
  BlockHeader* h = BlockHeader::of(p);
  size_t size = h->size();
  push(reinterpret_cast<uintptr_t>(h), size);
  if (size >= page_size() && page_return_.due()) disclaim_free();
  return FreeRange{};  // bucket blocks are not free space another request could merge into
}

void* ThreeOne::reallocate(void* p, size_t size) {
  BlockHeader* h = BlockHeader::of(p);
  if (bucket_for(size) == bucket_for(h->size() - kHeaderSize)) return p;  // same bucket: in place
  void* q = allocate(size, kAlignment);
  if (q == nullptr) return nullptr;
  size_t old = h->size() - kHeaderSize;
  memcpy(q, p, old < size ? old : size);
  release(p);
  return q;
}

size_t ThreeOne::disclaim_free() {
  size_t total = 0;
  for (unsigned b = 0; b < kBuckets; ++b) {
    if (block_size(b) < page_size()) continue;
    for (FreeBlock& f : lists_[b]) {
      os::disclaim(reinterpret_cast<uintptr_t>(&f) + kHeaderSize, block_size(b));
      total += block_size(b);
    }
  }
  return total;
}

bool ThreeOne::check(Text* why) const {
  auto fail = [&](const char* what, uintptr_t at) {
    if (why) why->str(what).str(" at ").hex(at);
    return false;
  };
  size_t listed = 0, listed_bytes = 0;
  for (unsigned b = 0; b < kBuckets; ++b) {
    for (const FreeBlock& f : lists_[b]) {
      uintptr_t a = reinterpret_cast<uintptr_t>(&f);
      if ((f.size_flags & kFlagMask) != kListed) return fail("listed block with bad flags", a);
      if ((f.size_flags & ~kFlagMask) != block_size(b)) return fail("block on the wrong bucket", a);
      if (!memory_->owns(a)) return fail("listed block outside the heap", a);
      ++listed;
      listed_bytes += block_size(b);
    }
  }
  if (listed != listed_blocks_ || listed_bytes != listed_bytes_)
    return fail("bucket counts differ from the lists", listed);
  // Walk every chunk of every segment: every block is in use (valid prefix) or listed.
  size_t page = page_size(), walked_listed = 0;
  auto block_ok = [&](uintptr_t a, size_t size) {
    const BlockHeader* h = BlockHeader::at(a);
    if (h->size() != size) return false;
    if (h->in_use()) return h->valid_in_use() || h->cached();
    if ((h->size_flags & kFlagMask) != kListed) return false;
    ++walked_listed;
    return true;
  };
  for (const Segment* s = memory_->segments(); s; s = s->next) {
    uintptr_t a = align_up(s->first_block(), page);
    uintptr_t stop = (s == memory_->segments()) ? cursor_ : s->handed;
    while (a < stop) {
      const BlockHeader* h = BlockHeader::at(a);
      size_t size = h->size();
      if ((h->size_flags & kFlagMask) == kSkipChunk) {
        if (size == 0 || size % page || a + size > stop) return fail("bad gap chunk", a);
        a += size;
        continue;
      }
      if (h->size_flags & kTailChunk) break;
      if (h->size_flags & kLargeChunk) {
        if (size < 2 * page || size % page || a + size > stop) return fail("bad large chunk", a);
        if (!block_ok(a + page - kHeaderSize, size - page)) return fail("bad large block", a);
        a += size;
        continue;
      }
      if (!is_power_of_two(size) || size < kMinBlock || size >= page) return fail("bad small chunk", a);
      for (uintptr_t b = a; b < a + page; b += size)
        if (!block_ok(b, size)) return fail("bad small block", b);
      a += page;
    }
  }
  if (walked_listed != listed) return fail("lists hold blocks the walk did not find", walked_listed);
  return true;
}

}  // namespace aixmalloc
