// What every back-end policy provides (DESIGN.md "Policies"), as a C++20 concept that each policy,
// and each per-heap layer that wraps one (options/buckets.h, options/disclaim.h), is checked
// against at compile time. The runtime picks one policy type at start-up and instantiates its heaps
// with it; nothing on the per-call path is virtual. The caller holds the heap's lock around every
// call.
#pragma once

#include <boost/intrusive/options.hpp>
#include <concepts>
#include <cstddef>

#include "libmalloc/base/block.h"
#include "libmalloc/base/format.h"
#include "libmalloc/base/heap_memory.h"

namespace aixmalloc {

#ifdef NDEBUG
inline constexpr boost::intrusive::link_mode_type kLinkMode = boost::intrusive::normal_link;
#else
inline constexpr boost::intrusive::link_mode_type kLinkMode = boost::intrusive::safe_link;
#endif

// One heap's free structure over the memory it is constructed with.
//   allocate(size, align): align a power of two >= 16; nullptr when the OS refuses more memory.
//   state(p): classifies a pointer the address map gave us, reading only mapped memory.
//   release(p): p is in use (state() said so); returns the free block it is now part of.
//   reallocate(p, size): in place or moved within the heap; nullptr leaves p intact.
//   disclaim_free(): gives whole free pages back; the bytes disclaimed.
//   check(why): verifies every invariant; false and the reason when one is broken.
//   kCoalescing: free neighbours merge (Yorktown, Watson).
template <class P>
concept HeapPolicy = std::constructible_from<P, HeapMemory*> &&
    requires(P& p, const P& cp, void* ptr, size_t n, Text* why) {
      { p.allocate(n, n) } -> std::same_as<void*>;
      { cp.state(ptr) } -> std::same_as<BlockState>;
      { p.release(ptr) } -> std::same_as<FreeRange>;
      { p.reallocate(ptr, n) } -> std::same_as<void*>;
      { cp.usable_size(ptr) } -> std::same_as<size_t>;
      { cp.free_bytes() } -> std::convertible_to<size_t>;
      { cp.free_blocks() } -> std::convertible_to<size_t>;
      { cp.largest_free() } -> std::convertible_to<size_t>;
      { p.disclaim_free() } -> std::same_as<size_t>;
      { cp.check(why) } -> std::same_as<bool>;
      { P::kCoalescing } -> std::convertible_to<bool>;
    };

}  // namespace aixmalloc
