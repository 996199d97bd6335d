// The guard arena of MALLOCDEBUG=catch_overflow: one reserved address range in which every guarded
// block has a run of pages of its own, placed so that the block's end meets an inaccessible guard
// page. AIX places each block the same way, before a protected page, so that a write past the end
// faults at the faulting instruction.
//
//   run:  [ data page ... data page ][ guard ]      the block ends where the guard begins:
//                    ^user  ...  user+size^          user = round_down(guard - size, align)
//
// Guard pages are installed with madvise(MADV_GUARD_INSTALL) where the kernel has it (Linux 6.13):
// the page tables mark them, the arena stays one mapping, and a million live blocks fit under the
// default vm.max_map_count. Elsewhere they are mprotect()ed, which splits the mapping at each guard,
// so about vm.max_map_count / 2 blocks can be guarded at once; past that (or when the arena is
// full) blocks are served unguarded, and the user is told once.
//
// A run keeps one record for its life: the record's number is written in a page table for every
// page of the run, so any address in the arena leads to its block without reading the block's
// memory (a fault report, a free of a foreign pointer). A freed run's data pages are made
// inaccessible at once (their memory goes back to the system), so a use after free faults until
// the run is reused; with postfree_checking the run waits in a quarantine of bounded size first.
// Runs are reused by size class: exact page counts up to 64, four classes per doubling above.
#pragma once

#include <cstddef>
#include <cstdint>

#include "libmalloc/base/lock.h"
#include "libmalloc/base/statistics.h"

namespace aixmalloc::guard {

struct Settings {
  size_t align = 16;               // MALLOCDEBUG align:n; 0 and 1 are byte-exact
  bool allow_overreading = false;  // the guard page is readable
  bool postfree_checking = false;  // freed runs wait in the quarantine
  uint64_t quarantine_bytes = 0;   // its bound
  bool force_mprotect = false;     // as on a kernel without MADV_GUARD_INSTALL (tests)
};

// Reserves the arena. False, with one line, when no address space can be had.
bool configure(const Settings& s);
bool enabled();

// A guarded block, or nullptr when it cannot be guarded (the arena is full, the kernel refuses a
// guard, or the block is larger than the arena can hold): the caller serves it unguarded.
void* allocate(size_t size, size_t align);

// What a pointer handed to free() or realloc() is.
enum class Verdict : uint8_t { kLive, kDoubleFree, kInterior, kNotABlock };
struct BlockInfo {
  uintptr_t user = 0;
  size_t size = 0;
  int thread = 0;   // the thread that allocated (or freed) it
  bool live = false;
};
Verdict check(const void* p, BlockInfo* info);
// p must be a live block (check() said kLive).
void release(void* p);
// The bytes from the block's start to its guard: its size rounded up to the alignment.
size_t usable_size(const void* p);
size_t requested_size(const void* p);
bool any_allocation();

// For the fault handler, without a lock: what lies at a faulting address.
enum class Site : uint8_t { kOutside, kPastEnd, kFreed, kUnused };
Site classify(uintptr_t addr, BlockInfo* info);
// Counts a misuse found by the layer (a bad or double free), for the statistics.
void count_misuse();

void totals(GuardFigures* out);

Lock& fork_lock();
// In a child forked without the locks: the arena may be half-way through a change, so the child
// stops guarding; its guarded blocks stay as they are and are never reused.
void set_aside_in_child();

}  // namespace aixmalloc::guard
