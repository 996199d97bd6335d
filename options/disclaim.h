// MALLOCOPTIONS=disclaim (legacy MALLOCDISCLAIM=true) and PSALLOC=early: AIX gives the memory of
// freed blocks back to the system (its pages read back as zeros); free blocks keep their place in
// the free structure. A per-heap layer: it wraps the heap's policy and acts after each release.
//
// PSALLOC=early: every free gives back the whole pages of the block it frees, as AIX's text reads.
//
// What a heap keeps goes back early when another part of the allocator takes fresh memory and the
// heap does not reuse it (give_back_kept(), libmalloc/base/reclaim.h).
//
// disclaim: each heap keeps a reserve of freed memory resident (22 MiB to start); what a free adds
// beyond it goes back at that free, so a program that frees and goes idle shrinks at once (after
// freeing 256 MiB it is 22.1-22.5 MiB above where it started, within the 24 MiB that
// tests/preload/disclaim_test.sh allows).
// A program that frees its buffers at the end of every round and takes them again in the next
// would pay a system call per free and a page fault per page on every round (15 times slower on
// tools/bench's reuse workload when every free disclaims). What keeps such a loop cheap:
//  - when the memory given back is taken again (half of it, counted by the addresses new blocks
//    land on), the reserve grows by what was given back (at least doubles), up to 256 MiB, so
//    the loop keeps its pages from its third round; what was given back before a second without
//    any give-back belongs to an earlier phase of the program and no longer counts;
//  - a block placed over memory given back less than a second ago has its pages faulted in with
//    one madvise(MADV_POPULATE_WRITE) instead of a fault per page: never more than was given
//    back, so the heap grows back at most to what it held (blocks of 4 MiB and more have ranges
//    of their own and never come here);
//  - memory free for a second goes back in one sweep at the next free, reserve included, unless
//    what the heap keeps rose above an eighth of the reserve less than a second ago: no more than
//    that eighth can have been free for a second, the rest is a loop's buffers of this round.
// Measured on tools/bench's reuse (64 buffers of 64 KiB-1 MiB, 25 MiB, every page touched; CPU
// user+sys, minimum of 30-40 interleaved runs on a loaded 2-CPU VM, three sessions), disclaim
// over the same policy without it, 200 rounds: Yorktown 1.04x, Watson 1.04-1.07x, multiheap:4
// 1.04-1.05x, Watson with multiheap:4 1.07-1.09x; 20 rounds: 1.01-1.10x (Yorktown 1.16x in the
// noisiest session, whose medians were 0.98-1.09x). It was 1.55x with an 8 MiB first reserve
// and no prefault; a 20 MiB reserve alone gave 1.18x, with the prefault 1.10x. What remains is
// the second round taking again the 3 MiB the first gave back (830 pages): on that VM a page
// costs 1.1 us to populate and 7-8 us at its first touch, against 16-20 us through a fault.
//
//   freed bytes since the last return:  [ reserve (resident) | excess: disclaimed at its free ]
#pragma once

#include <cstddef>
#include <cstdint>

#include "libmalloc/base/block.h"
#include "libmalloc/base/config.h"
#include "libmalloc/base/decay.h"
#include "libmalloc/base/os.h"
#include "libmalloc/base/reclaim.h"
#include "policies/policy.h"

namespace aixmalloc {

template <HeapPolicy P>
class DisclaimLayer : public P {
 public:
  static constexpr size_t kFirstReserve = size_t{22} << 20;
  static constexpr size_t kMaxReserve = size_t{256} << 20;
  // A free block keeps its prefix and tree hooks in its first bytes: no policy's take more.
  static constexpr size_t kHooks = 64;
  // From this much freed memory kept, another part of the allocator that grows asks for it back
  // first (libmalloc/base/reclaim.h); below, a sweep of the heap would cost more than it returns.
  static constexpr size_t kKeptForOthers = size_t{256} << 10;
  static constexpr uint64_t kSettleNs = 20'000'000;  // kept this long before it is given to others

  explicit DisclaimLayer(HeapMemory* memory) : P(memory) {}

  void configure(const Config& c) {
    every_free_ = c.psalloc_early;
    on_ = c.enabled(OptionId::kDisclaim) || every_free_;
  }

  void* allocate(size_t size, size_t align) {
    void* p = P::allocate(size, align);
    if (on_ && p != nullptr) {
      note_allocated(reinterpret_cast<uintptr_t>(p) - kHeaderSize, P::usable_size(p) + kHeaderSize);
    }
    return p;
  }

  // Another part of the allocator is about to take `want` bytes of fresh memory from the system
  // (watson2's pages): as much of the freed memory this heap keeps resident goes back, as it would
  // a second later, so that the process does not hold both; the end of it that the policy reuses
  // last where the policy can tell (Watson: disclaim_free_from()), all of it otherwise. The rest
  // stays for the heap's own reuse: given back whole at the first ask, sqlite3's sorter buffers
  // (1.5 MiB) were faulted in again at once, 340 pages, while watson2 had taken 1.5 MiB of pages.
  // Unless the heap reuses what it keeps, for then giving it back would only have its pages faulted
  // in again (a program that churns large and small blocks at once made 8 times the madvise calls
  // and 2.4 times the page faults, for the same peak):
  //  - it was freed less than 20 ms ago (a loop's buffers between two rounds), or the heap
  //    allocated more than an eighth of it since the last ask;
  //  - a give-back whose memory the heap took again (half of it) by the next ask was wasted: the
  //    heap declines twice as many asks as the last time, and once one holds, none.
  // True while it keeps some, so that it is asked again; adds the bytes it gave back to *given.
  bool give_back_kept(size_t want, size_t* given) {
    if (!on_ || every_free_) return false;
    size_t taken = taken_since_asked_;
    taken_since_asked_ = 0;
    if (swept_ != 0) {
      decline_ = taken * 2 >= swept_ ? decline_ * 2 + 1 : 0;
      skip_ = decline_;
      swept_ = 0;
    }
    if (resident_ < kKeptForOthers) return false;
    if (taken > resident_ / 8 || os::now_ns() - kept_since_ < kSettleNs) return true;
    if (skip_ != 0) {
      --skip_;
      return true;
    }
    size_t n;
    if constexpr (requires(P& p, uintptr_t* low) { p.disclaim_free_from(low, want); }) {
      n = P::disclaim_free_from(&low_, want);
      resident_ = low_ == UINTPTR_MAX || n >= resident_ ? 0 : resident_ - n;
    } else {
      n = P::disclaim_free();
      resident_ = 0;
    }
    swept_ = n;
    *given += n;
    return resident_ >= kKeptForOthers;
  }

  // In place or moved within the heap: memory the heap reuses itself (give_back_kept()).
  // What it leaves free (a shrunk block's tail, or the block it moved from) is resident from p up.
  void* reallocate(void* p, size_t size) {
    void* q = P::reallocate(p, size);
    if (on_ && q != nullptr) {
      taken_since_asked_ += size;
      if (reinterpret_cast<uintptr_t>(p) < low_) low_ = reinterpret_cast<uintptr_t>(p);
    }
    return q;
  }

  FreeRange release(void* p) {
    if (!on_) return P::release(p);
    uintptr_t start = reinterpret_cast<uintptr_t>(p) - kHeaderSize;
    size_t size = P::usable_size(p) + kHeaderSize;
    FreeRange merged = P::release(p);
    if (merged.size != 0) note_freed(merged, start, size);
    return merged;
  }

 private:
  void note_freed(FreeRange merged, uintptr_t start, size_t size) {
    // A second since memory was first freed: everything free goes back, reserve included; unless
    // what the heap keeps rose above an eighth of the reserve less than a second ago (a loop that
    // takes its buffers again every round): no more than that eighth has been free for a second.
    if (timer_.due() && !recently_kept()) {
      P::disclaim_free();
      resident_ = 0;
      low_ = UINTPTR_MAX;
      return;
    }
    size_t kept = resident_;
    resident_ += size;
    if (!every_free_ && resident_ <= reserve_) {
      if (start < low_) low_ = start;
      if (kept <= reserve_ / 8 && resident_ > reserve_ / 8) rose_at_ = os::now_ns();
      if (kept < kKeptForOthers && resident_ >= kKeptForOthers) {
        kept_since_ = os::now_ns();
        reclaim::heaps.keeping.store(true, std::memory_order_relaxed);
      }
      return;
    }
    resident_ -= size;
    // The pages the block covered, whole pages of the merged free block only (its neighbours'
    // share of a page at either end is free too, or the page would not be whole).
    size_t page = page_size();
    uintptr_t lo = align_down(start, page), hi = align_up(start + size, page);
    uintptr_t first = align_up(merged.start + kHooks, page), last = align_down(merged.start + merged.size, page);
    if (lo < first) lo = first;
    if (hi > last) hi = last;
    if (hi <= lo) return;
    os::disclaim(lo, hi - lo);
    if (every_free_) return;
    uint64_t now = os::now_ns();
    if (now > recent_until_) {
      // Nothing given back for a second: what was given back before belongs to an earlier phase of
      // the program, and neither counts towards the reserve's growth nor is faulted in again.
      given_ = taken_ = 0;
      given_lo_ = given_hi_ = 0;
      refill_ = refill_lo_ = refill_hi_ = 0;
    }
    recent_until_ = now + DecayTimer::kDelayNs;
    given_ += hi - lo;
    if (given_lo_ == 0 || lo < given_lo_) given_lo_ = lo;
    if (hi > given_hi_) given_hi_ = hi;
    refill_ += hi - lo;
    if (refill_lo_ == 0 || lo < refill_lo_) refill_lo_ = lo;
    if (hi > refill_hi_) refill_hi_ = hi;
  }

  // The whole block, [start, start+size), as release() counts it: a loop's frees and allocations
  // cancel out.
  void note_allocated(uintptr_t start, size_t size) {
    resident_ = resident_ > size ? resident_ - size : 0;
    taken_since_asked_ += size;
    if (refill_ != 0 && start < refill_hi_ && start + size > refill_lo_) refill(start, size);
    if (given_ == 0 || start < given_lo_ || start >= given_hi_) return;
    taken_ += size;
    if (taken_ * 2 < given_) return;
    // Memory given back is being taken again: the program reuses it, keep more.
    reserve_ = reserve_ + given_ > 2 * reserve_ ? reserve_ + given_ : 2 * reserve_;
    if (reserve_ > kMaxReserve) reserve_ = kMaxReserve;
    given_ = taken_ = 0;
    given_lo_ = given_hi_ = 0;
  }

  bool recently_kept() const {
    if (every_free_ || resident_ <= reserve_ / 8) return false;
    return os::now_ns() - rose_at_ < DecayTimer::kDelayNs;
  }

  // A block placed over memory given back less than a second ago: the program takes it again and
  // will touch it, so fault its pages in with one call rather than one fault per page. Never more
  // than was given back, so the heap grows back at most to what it held before.
  void refill(uintptr_t start, size_t size) {
    if (os::now_ns() > recent_until_) {
      refill_ = 0;
      refill_lo_ = refill_hi_ = 0;
      return;
    }
    size_t page = page_size();
    uintptr_t lo = align_down(start, page), hi = align_up(start + size, page);
    if (lo < refill_lo_) lo = refill_lo_;
    if (hi > refill_hi_) hi = refill_hi_;
    if (hi <= lo) return;
    if (hi - lo > refill_) hi = lo + align_up(refill_, page);
    os::populate(lo, hi - lo);
    refill_ = refill_ > hi - lo ? refill_ - (hi - lo) : 0;
  }

  DecayTimer timer_;
  size_t reserve_ = kFirstReserve;
  size_t resident_ = 0;  // bytes freed since the last return, as far as frees and allocations tell
  size_t taken_since_asked_ = 0;  // bytes allocated since give_back_kept() was last called
  size_t swept_ = 0;              // bytes it gave back at that call, if it did
  uintptr_t low_ = UINTPTR_MAX;   // every free page below it has gone back (disclaim_free_from())
  uint32_t decline_ = 0, skip_ = 0;  // asks to decline after a wasted give-back, and still to
  uint64_t kept_since_ = 0;          // when what it keeps last rose to kKeptForOthers
  size_t given_ = 0;     // bytes given back beyond the reserve since it last grew
  size_t taken_ = 0;     // bytes allocated since then inside [given_lo_, given_hi_)
  uintptr_t given_lo_ = 0, given_hi_ = 0;
  size_t refill_ = 0;         // bytes given back lately not yet faulted in again
  uintptr_t refill_lo_ = 0, refill_hi_ = 0;
  uint64_t recent_until_ = 0;  // a second after the last give-back
  uint64_t rose_at_ = 0;       // when resident_ last rose above an eighth of the reserve
  bool on_ = false;
  bool every_free_ = false;
};

}  // namespace aixmalloc
