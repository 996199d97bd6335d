// MALLOCOPTIONS=buckets (and AIX's legacy MALLOCTYPE=buckets with MALLOCBUCKETS): as AIX's malloc
// buckets extension does, small requests are served from per-heap buckets of fixed-size blocks over
// the default policy.
//
//   bucket i holds blocks of (i+1) * bucket_sizing_factor bytes (plus AIX's 16-byte prefix, which
//   counts in the bucket's size); a request goes to the smallest bucket whose block size is at
//   least the requested size, anything larger to the policy ("default allocator").
//   A bucket carves its blocks from regions of blocks_per_bucket blocks taken from the heap's
//   policy when it first needs one; freed blocks go back onto the bucket's list and are never
//   merged or returned to the policy.
//
//   bucket block:  | size | kInUse | kBucketMagic ^ address |  data: (i+1) * factor bytes  |
//   when free:     | size | kInUse | kBucketFreeMagic ^ address | next free block | ...      |
//
// The heap's lock is held around every call; counters feed AIX's bucket statistics summary.
#pragma once

#include <algorithm>
#include <iterator>
#include <cstddef>
#include <cstdint>

#include "libmalloc/base/address_map.h"
#include "libmalloc/base/block.h"
#include "libmalloc/base/config.h"
#include "libmalloc/base/statistics.h"
#include "policies/policy.h"

namespace aixmalloc {

inline constexpr uintptr_t kBucketMagic = 0xa1c5'b0c4'e700'0000ull;
inline constexpr uintptr_t kBucketFreeMagic = 0xa1c5'b0c4'f4ee'0000ull;

class Buckets {
 public:
  static constexpr unsigned kMaxBuckets = 128;

  void configure(unsigned count, unsigned factor, unsigned blocks_per_bucket) {
    count_ = count;
    factor_ = factor;
    blocks_ = blocks_per_bucket;
  }
  // Empties every bucket; before the first request when the buckets are on (their tables are left
  // unset otherwise, and nothing reads them).
  void clear() {
    std::fill(std::begin(free_), std::end(free_), nullptr);
    std::fill(std::begin(cursor_), std::end(cursor_), 0);
    std::fill(std::begin(end_), std::end(end_), 0);
    std::fill(std::begin(requests_), std::end(requests_), 0);
  }
  unsigned count() const { return count_; }
  unsigned factor() const { return factor_; }
  unsigned blocks_per_bucket() const { return blocks_; }
  size_t largest() const { return size_t{count_} * factor_; }

  // The bucket serving a request of `size` bytes (size <= largest()).
  unsigned bucket_for(size_t size) const {
    return size == 0 ? 0 : static_cast<unsigned>((size - 1) / factor_);
  }
  size_t block_size(unsigned b) const { return kHeaderSize + size_t{b + 1} * factor_; }

  static bool is_bucket_block(const BlockHeader* h) {
    return h->check == (kBucketMagic ^ reinterpret_cast<uintptr_t>(h));
  }
  static bool is_free_bucket_block(const BlockHeader* h) {
    return h->check == (kBucketFreeMagic ^ reinterpret_cast<uintptr_t>(h));
  }
  unsigned bucket_of(const BlockHeader* h) const {
    return static_cast<unsigned>((h->size() - kHeaderSize) / factor_) - 1;
  }

  // A block of bucket b, or nullptr when the policy has no memory for a new region.
  template <class P>
  void* allocate(unsigned b, P& policy) {
    BlockHeader* h = free_[b];
    if (h != nullptr) {
      free_[b] = *reinterpret_cast<BlockHeader**>(h->user());
      free_bytes_ -= block_size(b);
    } else {
      if (cursor_[b] == end_[b] && !new_region(b, policy)) return nullptr;
      h = BlockHeader::at(cursor_[b]);
      cursor_[b] += block_size(b);
      free_bytes_ -= block_size(b);
      h->size_flags = block_size(b) | kInUse;
    }
    h->check = kBucketMagic ^ reinterpret_cast<uintptr_t>(h);
    ++requests_[b];
    return h->user();
  }

  void release(BlockHeader* h) {
    unsigned b = bucket_of(h);
    h->check = kBucketFreeMagic ^ reinterpret_cast<uintptr_t>(h);
    *reinterpret_cast<BlockHeader**>(h->user()) = free_[b];
    free_[b] = h;
    free_bytes_ += block_size(b);
  }

  // Bytes of the regions not in use by the program: free blocks and blocks not carved yet. The
  // policy counts the regions as allocated; mallinfo counts these as free.
  size_t free_bytes() const { return free_bytes_; }

  uint64_t requests(unsigned b) const { return requests_[b]; }
  uint64_t total_requests() const {
    uint64_t sum = 0;
    for (unsigned b = 0; b < count_; ++b) sum += requests_[b];
    return sum;
  }
  uint64_t default_requests = 0;  // requests too large for any bucket, sent to the policy

 private:
  template <class P>
  bool new_region(unsigned b, P& policy) {
    // AIX sizes a bucket's region as blocks_per_bucket * (prefix + (i+1) * factor) bytes: one
    // allocated block of the policy (whose own prefix stays in front of it, untouched).
    size_t bytes = size_t{blocks_} * block_size(b);
    void* region = policy.allocate(bytes, kAlignment);
    if (region == nullptr) return false;
    cursor_[b] = reinterpret_cast<uintptr_t>(region);
    end_[b] = cursor_[b] + bytes;
    free_bytes_ += bytes;
    return true;
  }

  unsigned count_ = 16, factor_ = 64, blocks_ = 1024;
  size_t free_bytes_ = 0;
  // Set by clear(), when the buckets are on, and last: a heap's 4 KiB of them would otherwise be
  // written (a page of every process touched, two when they straddle) where nothing uses them.
  BlockHeader* free_[kMaxBuckets];
  uintptr_t cursor_[kMaxBuckets];
  uintptr_t end_[kMaxBuckets];
  uint64_t requests_[kMaxBuckets];
};

// The per-heap layer: requests the buckets serve never reach the policy it wraps; blocks of the
// buckets are told from the policy's own by their check word.
template <HeapPolicy P>
class BucketsLayer : public P {
 public:
  explicit BucketsLayer(HeapMemory* memory) : P(memory) {}

  void configure(const Config& c) {
    on_ = c.enabled(OptionId::kBuckets);
    buckets_.configure(static_cast<unsigned>(c.value(OptionId::kNumberOfBuckets)),
                       static_cast<unsigned>(c.value(OptionId::kBucketSizingFactor)),
                       static_cast<unsigned>(c.value(OptionId::kBlocksPerBucket)));
    if (on_) buckets_.clear();
    if constexpr (requires(P& q) { q.configure(c); }) P::configure(c);
  }

  void* allocate(size_t size, size_t align) {
    if (on_ && align <= kAlignment) {
      if (size <= buckets_.largest()) {
        if (void* b = buckets_.allocate(buckets_.bucket_for(size), static_cast<P&>(*this))) return b;
      } else {
        ++buckets_.default_requests;
      }
    }
    return P::allocate(size, align);
  }

  // A freed bucket block is a double free; the prefix is read only where it is sure to be mapped
  // (as the policies' state() does).
  BlockState state(void* p) const {
    if (on_ && prefix_mapped(p)) {
      const BlockHeader* h = BlockHeader::of(p);
      if (Buckets::is_bucket_block(h)) return BlockState::kInUse;
      if (Buckets::is_free_bucket_block(h)) return BlockState::kFree;
    }
    return P::state(p);
  }

  FreeRange release(void* p) {
    if (on_ && Buckets::is_bucket_block(BlockHeader::of(p))) {
      buckets_.release(BlockHeader::of(p));
      return FreeRange{};
    }
    return P::release(p);
  }

  size_t usable_size(void* p) const {
    if (on_ && Buckets::is_bucket_block(BlockHeader::of(p))) return BlockHeader::of(p)->size() - kHeaderSize;
    return P::usable_size(p);
  }

  // A bucket block stays while the new size fits it; otherwise the caller moves it.
  void* reallocate(void* p, size_t size) {
    if (on_ && Buckets::is_bucket_block(BlockHeader::of(p)))
      return size <= BlockHeader::of(p)->size() - kHeaderSize ? p : nullptr;
    return P::reallocate(p, size);
  }

  // The regions' blocks not in use are free to the program, though the policy counts them as
  // allocated.
  size_t free_bytes() const { return P::free_bytes() + buckets_.free_bytes(); }

  // This heap's row of the bucket statistics (heap i), and its requests by bucket.
  void heap_statistics(Statistics& f, unsigned i) const {
    if (on_) {
      BucketsFigures& r = f.buckets;
      r.count = buckets_.count();
      r.factor = buckets_.factor();
      r.blocks_per_bucket = buckets_.blocks_per_bucket();
      for (unsigned b = 0; b < buckets_.count(); ++b) f.bucket[b].allocations += buckets_.requests(b);
      f.bucket_heap[i].in_buckets = buckets_.total_requests();
      f.bucket_heap[i].in_default = buckets_.default_requests;
      f.has_buckets = 1;
    }
    if constexpr (requires(const P& q) { q.heap_statistics(f, i); }) P::heap_statistics(f, i);
  }

 private:
  bool on_ = false;
  Buckets buckets_;  // last: its tables are written only when on_ (Heap's members, multiheap.h)
};

}  // namespace aixmalloc
