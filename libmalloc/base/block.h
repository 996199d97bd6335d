// The block prefix of the back-end policies and of large blocks (AIX 64-bit: 16 bytes before the
// user pointer).
//
//   in use:  | size | kInUse   | check = kMagic ^ address |  user data ...        |
//   free:    | size | flags=0  | policy's tree hooks (overlay the check word and the user data) |
//            ^ block start (16-aligned)                   ^ user pointer = block + 16
//
// A pointer is trusted only when its prefix says "in use" *and* its check word matches: the check
// word of a free block is a tree pointer, and kMagic's high bits make it a non-canonical address,
// so no tree pointer can equal it. That catches double frees and interior pointers cheaply
// (DESIGN.md invariant 1) without any per-block memory beyond AIX's own prefix.
#pragma once

#include <cstddef>
#include <cstdint>

#include "libmalloc/base/platform.h"

namespace aixmalloc {

inline constexpr uintptr_t kInUse = 1;
inline constexpr uintptr_t kFlagMask = kAlignment - 1;
inline constexpr uintptr_t kMagic = 0xa1c5'5a1c'0000'0000ull;
inline constexpr uintptr_t kFenceMagic = 0xa1c5'fe9c'e000'0000ull;
inline constexpr uintptr_t kCachedMagic = 0xa1c5'cac4'ed00'0000ull;
inline constexpr uintptr_t kLargeMagic = 0xa1c5'd19e'c700'0000ull;

struct BlockHeader {
  uintptr_t size_flags;
  uintptr_t check;

  size_t size() const { return size_flags & ~kFlagMask; }
  bool in_use() const { return (size_flags & kInUse) != 0; }
  void *user() { return reinterpret_cast<char *>(this) + kHeaderSize; }

  void mark_in_use(size_t size) {
    size_flags = size | kInUse;
    check = kMagic ^ reinterpret_cast<uintptr_t>(this);
  }
  // A permanently allocated block that no pointer from malloc can name (segment start).
  void mark_fence(size_t size) {
    size_flags = size | kInUse;
    check = kFenceMagic ^ reinterpret_cast<uintptr_t>(this);
  }
  bool valid_in_use() const {
    return in_use() && check == (kMagic ^ reinterpret_cast<uintptr_t>(this));
  }
  // An allocated block parked in a thread cache (options/threadcache.h): still allocated as far as
  // its heap knows, but free as far as the program is concerned, so a second free is a double free.
  void mark_cached() { check = kCachedMagic ^ reinterpret_cast<uintptr_t>(this); }
  void mark_uncached() { check = kMagic ^ reinterpret_cast<uintptr_t>(this); }
  bool cached() const {
    return in_use() && check == (kCachedMagic ^ reinterpret_cast<uintptr_t>(this));
  }

  static BlockHeader *of(void *user) {
    return reinterpret_cast<BlockHeader *>(static_cast<char *>(user) - kHeaderSize);
  }
  static BlockHeader *at(uintptr_t a) { return reinterpret_cast<BlockHeader *>(a); }
};
static_assert(sizeof(BlockHeader) == kHeaderSize);

// The free block a release produced or joined (after merging), so that a layer above can act on
// its pages (disclaim). Empty when the block went to a list that is not free space (size classes).
struct FreeRange {
  uintptr_t start = 0;
  size_t size = 0;
};

// What release() and friends find when they look at a pointer's prefix.
enum class BlockState { kInUse, kFree, kNotABlock };

// Space a request takes in a policy that carves blocks: prefix plus data, rounded to the alignment,
// never less than `min_block` (the size of a free block's hooks).
constexpr size_t block_size_for(size_t request, size_t min_block) {
  size_t n = align_up(request + kHeaderSize, kAlignment);
  return n < min_block ? min_block : n;
}

}  // namespace aixmalloc
