// MALLOCOPTIONS=buckets (spec 4; legacy MALLOCTYPE=buckets), over the default policy: small
// requests are served from per-heap buckets of fixed-size blocks.
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
// The heap's lock is held around every call; counters feed the bucket statistics (spec 4.5).
#pragma once

#include <cstddef>
#include <cstdint>

#include "libmalloc/base/block.h"

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
    // Spec 4.3: blocks_per_bucket * (prefix + (i+1) * factor) bytes, one allocated block of the
    // policy (whose own prefix stays in front of it, untouched).
    size_t bytes = size_t{blocks_} * block_size(b);
    void* region = policy.allocate(bytes, kAlignment);
    if (region == nullptr) return false;
    cursor_[b] = reinterpret_cast<uintptr_t>(region);
    end_[b] = cursor_[b] + bytes;
    free_bytes_ += bytes;
    return true;
  }

  unsigned count_ = 16, factor_ = 64, blocks_ = 1024;
  BlockHeader* free_[kMaxBuckets] = {};
  uintptr_t cursor_[kMaxBuckets] = {};
  uintptr_t end_[kMaxBuckets] = {};
  uint64_t requests_[kMaxBuckets] = {};
  size_t free_bytes_ = 0;
};

// The figures of the bucket statistics summary, gathered once for every renderer (text, JSON).
struct BucketReport {
  unsigned count = 0, factor = 0, blocks_per_bucket = 0, heaps = 0;
  uint64_t per_bucket[Buckets::kMaxBuckets] = {};
  uint64_t heap_buckets[kMaxHeaps] = {}, heap_default[kMaxHeaps] = {};
  uint64_t in_buckets() const {
    uint64_t s = 0;
    for (unsigned i = 0; i < heaps; ++i) s += heap_buckets[i];
    return s;
  }
  uint64_t in_default() const {
    uint64_t s = 0;
    for (unsigned i = 0; i < heaps; ++i) s += heap_default[i];
    return s;
  }
};

}  // namespace aixmalloc
