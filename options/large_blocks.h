// The layer of large blocks, in every stack whatever the options: a request of kLargeThreshold
// bytes or more gets an address range of its own (libmalloc/base/large_blocks.h), so one huge
// buffer never pins a heap's high-water mark; such blocks are found through the address map.
// AIX documents no threshold; its heaps grow and shrink with sbrk, which one address range per
// large block models on Linux.
#pragma once

#include <cstddef>

#include "libmalloc/base/address_map.h"
#include "libmalloc/base/config.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/large_blocks.h"
#include "libmalloc/base/lock.h"
#include "libmalloc/base/platform.h"
#include "libmalloc/base/statistics.h"

namespace aixmalloc {

// The cache's lock is a leaf (held with no other lock), so its place in the fork order is free.
template <class Next>
class LargeBlockLayer : public LockedAtFork<Next, large::fork_lock, large::set_aside_in_child> {
 public:
  void* allocate(size_t size, size_t align) {
    if (size >= kLargeThreshold) return large::allocate(size, align);
    return Next::allocate(size, align);
  }

  void release(void* p, Owner o, const char* call) {
    if (o.kind() != OwnerKind::kLarge) return Next::release(p, o, call);
    validate(p, o, call);
    large::release(p, o);
  }

  size_t usable_size(void* p, Owner o, const char* call) {
    if (o.kind() != OwnerKind::kLarge) return Next::usable_size(p, o, call);
    validate(p, o, call);
    return large::usable_size(p, o);
  }

  // A large block is resized by remapping while it stays large; a heap block that grows past the
  // threshold moves to a range of its own (nullptr: the caller moves it).
  void* reallocate(void* p, Owner o, size_t size) {
    if (o.kind() == OwnerKind::kLarge) {
      validate(p, o, "realloc");
      return size >= kLargeThreshold ? large::reallocate(p, o, size) : nullptr;
    }
    if (size >= kLargeThreshold) return nullptr;
    return Next::reallocate(p, o, size);
  }

  // calloc: a fresh range is zero already; one reused from the cache is not.
  void clear(void* p, size_t size) {
    if (address_map().lookup(p).kind() == OwnerKind::kLarge) return large::clear_if_reused(p, size);
    Next::clear(p, size);
  }

  size_t trim() { return large::drop_cache() + Next::trim(); }

  bool any_allocation() { return large::totals().allocations || Next::any_allocation(); }

  void statistics(Statistics& f) {
    Next::statistics(f);
    f.large = large::totals();
    f.has_large = 1;
  }

 private:
  static void validate(void* p, Owner o, const char* call) {
    if (!large::valid(p, o)) report_misuse(call, p, large::freed(p, o) ? Misuse::kDoubleFree : Misuse::kNotABlock);
  }
};

}  // namespace aixmalloc
