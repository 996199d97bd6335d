// MALLOCDEBUG's Malloc Detect and fill: the front-end layer right above the pool, so every block a
// program gets or gives back passes through it whatever serves it (pool, thread cache, buckets,
// heaps, large blocks).
//
//   validate_ptrs  free, realloc and malloc_usable_size accept only a live block from malloc: the
//                  layer keeps the set of live blocks (and a record of the last ones freed, to tell
//                  a double free from a foreign or interior pointer); a bad pointer is reported on
//                  the debug output stream and the process aborts, unless `continue`, and then the
//                  call does nothing: free returns, malloc_usable_size returns 0, realloc returns
//                  NULL with errno EINVAL and leaves the block (as a realloc that fails does).
//   fill[:byte]    new memory (malloc, memalign, realloc's new part) holds the byte; a freed block
//                  its complement; calloc still returns zeros.
//   checkarena     every call first checks the heaps' structures; a broken invariant is reported
//                  and the process aborts (damage is never `continue`d).
//   verbose        each report in full: the block, its heap, the check, what to look for.
//
// Off (the default), each call costs one predictable branch. On, the pool's inline fast path is
// turned off (pool::g_fast) so that the exported malloc and free reach this layer too. The set and
// the record are the process's, in memory of their own (malloc_detect.cpp), under 16 locks chosen
// by address; they are taken at fork before the layers' below, as LockedAtFork orders one lock.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "libmalloc/base/address_map.h"
#include "libmalloc/base/config.h"
#include "libmalloc/base/debug_output.h"
#include "libmalloc/base/format.h"
#include "libmalloc/base/platform.h"
#include "libmalloc/base/statistics.h"
#include "options/pool.h"

namespace aixmalloc::detect {

// --- the set of live blocks and the record of freed ones (malloc_detect.cpp) ---------------------

inline constexpr unsigned kStripes = 16;
inline constexpr unsigned kFreedPerStripe = 1024;  // so about the last 16384 frees are remembered

// Records p (of `size` bytes requested) as live.
void insert(const void* p, size_t size);
// When p is live: forgets it, records it as freed and returns true with its size in *size.
bool remove(const void* p, size_t* size);
// When p is live: true, with its size in *size (may be nullptr).
bool contains(const void* p, size_t* size);
// Empties the set and the record (the options were set again over a stack without blocks).
void reset();

// What a pointer that is not a live block is.
enum class Finding : uint8_t {
  kDoubleFree,  // one of the blocks freed lately, not handed out again
  kForeign,     // in no memory of this allocator
  kInterior,    // inside a live block, not at its start
  kNotABlock,   // in the allocator's memory, but neither of the above
};
struct Diagnosis {
  Finding what;
  uintptr_t block = 0;  // the block freed (kDoubleFree) or holding p (kInterior)
  uint64_t size = 0;    // its size as requested
};
// Looks p up in the record of freed blocks, then (when `owned`) in the live set for a block that
// holds it: a walk of every stripe, on the error path only.
Diagnosis diagnose(const void* p, bool owned);

// Where a pointer lies, for the report.
struct Place {
  enum Kind : uint8_t { kNowhere, kPool, kHeap, kLarge, kOther } kind = kNowhere;
  unsigned heap = 0;
};

// --- reports (malloc_detect_report.cpp) -----------------------------------------------------------

// What a dropped call does instead, for the report under `continue`.
enum class Dropped : uint8_t { kNothing, kReturnsNull, kReturnsZero };
// A bad pointer, in one write on the debug output stream; aborts unless MALLOCDEBUG=continue,
// and returns when the caller must drop the call.
void report_bad_pointer(const char* call, const void* p, const Diagnosis& d, Place where, Dropped dropped,
                        bool verbose);
// The heaps' check failed (`why`, from the stack's check()): reported, then abort().
[[noreturn]] void report_damaged_heap(const char* call, const Text& why, bool verbose);

// --- counters and fork ----------------------------------------------------------------------------

void count_arena_check();
void totals(DetectFigures* out);

// pthread_atfork: every stripe's lock, in index order (malloc_detect.cpp).
void lock_all();
void unlock_all();
void reset_in_child();
// In a child forked without the locks: a stripe caught in a change is emptied and stops judging
// (it lets every pointer through to the layers below, which still check block headers).
void set_aside_in_child();

// --- the layer -------------------------------------------------------------------------------------

template <class Next>
class MallocDetectLayer : public Next {
 public:
  void configure(const Config& c) {
    Next::configure(c);
    configure_detect(c);
  }

  // This layer's options alone, over the stack as it is (configure() above, and the tests that try
  // the options over one stack). The set starts empty.
  void configure_detect(const Config& c) {
    validate_ = c.enabled(OptionId::kValidatePtrs);
    fill_ = c.enabled(OptionId::kFill);
    fill_byte_ = static_cast<unsigned char>(c.value(OptionId::kFill));
    checkarena_ = c.enabled(OptionId::kCheckarena);
    verbose_ = c.enabled(OptionId::kVerbose);
    on_ = validate_ || fill_ || checkarena_;
    reset();
    if (on_) pool::set_fast(pool::kFastOff);
  }

  // mallopt(M_MALIGN) sets the pool's fast path again: it stays off while this layer is on.
  void set_default_alignment(size_t align) {
    Next::set_default_alignment(align);
    if (on_) pool::set_fast(pool::kFastOff);
  }

  bool debug_active() const { return on_ || Next::debug_active(); }

  void* allocate(size_t size, size_t align) {
    if (__builtin_expect(!on_, 1)) return Next::allocate(size, align);
    return detect_allocate(size, align);
  }

  void release(void* p, Owner o, const char* call) {
    if (__builtin_expect(!on_, 1)) return Next::release(p, o, call);
    detect_release(p, o, call);
  }

  size_t usable_size(void* p, Owner o, const char* call) {
    if (__builtin_expect(!on_, 1)) return Next::usable_size(p, o, call);
    return detect_usable_size(p, o, call);
  }

  void* reallocate(void* p, Owner o, size_t size) {
    if (__builtin_expect(!on_, 1)) return Next::reallocate(p, o, size);
    return detect_reallocate(p, o, size);
  }

  // calloc: under fill every block holds the pattern, even a fresh range that the layers below
  // know to be zero already.
  void clear(void* p, size_t size) {
    if (__builtin_expect(fill_, 0)) {
      memset(p, 0, size);
      return;
    }
    Next::clear(p, size);
  }

  void statistics(Statistics& f) {
    Next::statistics(f);
    if (!on_) return;  // a report shows the sections of the layers that are on
    totals(&f.detect);
    f.has_detect = 1;
  }

  // The stripes' locks before every lock below, released after them (LockedAtFork's order). While
  // the layer is off no thread takes them, and they are left alone: sixteen stripes are sixteen
  // pages, which every fork would otherwise copy twice (the parent's unlock and the child's reset
  // each write to pages the two processes share).
  void fork_prepare() {
    if (on_) lock_all();
    Next::fork_prepare();
  }
  void fork_parent() {
    Next::fork_parent();
    if (on_) unlock_all();
  }
  void fork_child() {
    Next::fork_child();
    if (on_) reset_in_child();
  }
  void fork_child_set_aside() {
    Next::fork_child_set_aside();
    if (on_) set_aside_in_child();
  }

 private:
  [[gnu::noinline]] void* detect_allocate(size_t size, size_t align) {
    if (checkarena_) check_arena("malloc");
    void* p = Next::allocate(size, align);
    if (p == nullptr) return nullptr;
    if (fill_) memset(p, fill_byte_, Next::usable_size(p, address_map().lookup(p), "malloc"));
    if (validate_) insert(p, size);
    return p;
  }

  // A live block leaves the set before the layers below free it: once freed there, another thread
  // may be handed the same address and record it.
  [[gnu::noinline]] void detect_release(void* p, Owner o, const char* call) {
    if (checkarena_) check_arena(call);
    size_t size;
    if (validate_ && !remove(p, &size)) return bad_pointer(p, o, call, Dropped::kNothing);
    if (fill_ && fillable(p)) memset(p, fill_byte_ ^ 0xff, Next::usable_size(p, o, call));
    Next::release(p, o, call);
  }

  [[gnu::noinline]] size_t detect_usable_size(void* p, Owner o, const char* call) {
    if (checkarena_) check_arena(call);
    if (validate_ && !contains(p, nullptr)) {
      bad_pointer(p, o, call, Dropped::kReturnsZero);
      return 0;
    }
    return Next::usable_size(p, o, call);
  }

  // The block leaves the set while the layers below resize it (one of them may free it and take
  // another), and comes back as what they return; when they return nullptr the runtime moves it
  // through allocate() and release(), which keep the set themselves.
  [[gnu::noinline]] void* detect_reallocate(void* p, Owner o, size_t size) {
    if (checkarena_) check_arena("realloc");
    size_t old = 0;
    if (validate_ && !remove(p, &old)) {
      bad_pointer(p, o, "realloc", Dropped::kReturnsNull);
      return debug::kDropped;
    }
    size_t before = fill_ ? Next::usable_size(p, o, "realloc") : 0;
    void* q = Next::reallocate(p, o, size);
    if (validate_) insert(q ? q : p, q ? size : old);
    if (q && fill_) {
      size_t after = Next::usable_size(q, address_map().lookup(q), "realloc");
      if (after > before) memset(static_cast<char*>(q) + before, fill_byte_, after - before);
    }
    return q;
  }

  // A pointer into the pool that is not a block's start: the pool reports it (without
  // validate_ptrs), and a block's worth of fill from there would run into the next block.
  static bool fillable(void* p) { return !pool::owns(p) || pool::is_block_start(pool::page_of(p), p); }

  void check_arena(const char* call) {
    count_arena_check();
    TextBuf<256> why;
    if (!Next::check(&why)) report_damaged_heap(call, why, verbose_);
  }

  // Reports p and returns when the program goes on (MALLOCDEBUG=continue).
  [[gnu::cold]] void bad_pointer(void* p, Owner o, const char* call, Dropped dropped) {
    Place where;
    if (pool::owns(p)) {
      where.kind = Place::kPool;
    } else if (o.kind() == OwnerKind::kHeap) {
      where.kind = Place::kHeap;
      where.heap = Next::heap_index(o);
    } else if (o.kind() == OwnerKind::kLarge) {
      where.kind = Place::kLarge;
    } else if (o.kind() != OwnerKind::kNone) {
      where.kind = Place::kOther;
    }
    report_bad_pointer(call, p, diagnose(p, where.kind != Place::kNowhere), where, dropped, verbose_);
  }

  bool on_ = false;  // any of the options below
  bool validate_ = false;
  bool fill_ = false;
  bool checkarena_ = false;
  bool verbose_ = false;
  unsigned char fill_byte_ = 0;  // set by configure_detect (0xa5 by default); zero: see stack.h
};

}  // namespace aixmalloc::detect
