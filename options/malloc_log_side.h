// The Malloc Log's side arrays: where the log keeps a live block of the pool or of watson2
// (MALLOCDEBUG=log without `extended`), in place of the table by address (malloc_log_table.h).
// Both carve 64 KiB pages into blocks of one size, at least 16 bytes, and find a block's number in
// its page with a multiply (their block_number()); so an area's side array has 4096
// entries per page, and entry k of page i describes block k of page i: its size in the high 32
// bits, and in the low 32 bits one more than a record of its stack (any record of that stack: the
// first its caller's walk found, kept with the walk in the thread's memo), 0 for none. Noting a
// block is one store, forgetting it another: no hash, no lock, no count, no record looked up.
//
//   the area:        | page 0 (64 KiB)        | page 1                 | ...
//   its side array:  | 4096 x uint64 (32 KiB) | 4096 x uint64 (32 KiB) | ...   reserved for
//                                                                  kMaxPages pages, committed
//                                                                  as pages are used
//
// The records' counts of these blocks are made when someone reads them (the reports, the API,
// the statistics: malloc_log.h's refresh_counts()), by a walk over the entries that are resident:
// the count a record had from this walk the last time is replaced by this walk's.
//
// Only the memory pages of the array that entries were written to take memory: 8 bytes a block
// in the pages the blocks use (metadata_bytes() counts what is resident, not what is committed).
// An entry is written by the thread that noted the block and read by the one that frees it, which
// the program's own hand-over of the block orders. A page past the reservation (an area beyond
// 4 GiB) has no side array: its blocks go to the table, as every block does with `extended`,
// whose fields have no room here.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "libmalloc/base/os.h"
#include "libmalloc/base/platform.h"

namespace aixmalloc::mlog::side {

inline constexpr unsigned kPool = 0, kWatson2 = 1, kAreas = 2;
inline constexpr size_t kEntriesPerPage = 4096;  // 64 KiB / 16 bytes
inline constexpr size_t kMaxPages = size_t{1} << 16;  // 4 GiB of an area: a 2 GiB reservation

using Entry = std::atomic<uint64_t>;

// An entry's value: the block's size and a record of its stack (rep < 2^32 - 1).
inline constexpr uint64_t value(uint32_t rep, size_t size) { return uint64_t{size} << 32 | (rep + 1); }
inline constexpr uint32_t rep_of(uint64_t v) { return static_cast<uint32_t>(v) - 1; }
inline constexpr size_t size_of(uint64_t v) { return static_cast<size_t>(v >> 32); }
// The largest block an entry can describe (the pool's and watson2's are far smaller).
inline constexpr size_t kMaxSize = UINT32_MAX;

struct Area {
  std::atomic<size_t> ready{0};  // pages whose entries are committed
  Entry* entries = nullptr;      // set once, before ready first leaves 0
  size_t reserved = 0;           // pages reserved (0: not yet, or refused)
  bool refused = false;
};
[[gnu::visibility("hidden")]] inline constinit Area g_areas[kAreas];

// On while the log keeps these blocks here (not with `extended`): set once by the runtime.
inline bool g_on = false;
// Set once a block of these areas had no entry when it was noted (entry_slow() could not
// commit the array's memory, or the page is past the reservation) and may be in the table: from
// then on a free reads its entry before clearing it. (A block noted while its thread was inside
// the log, t_busy, is not logged at all.)
[[gnu::visibility("hidden")]] inline constinit std::atomic<bool> g_spilled{false};

// Commits the entries of page `page` (and some after it) under the records' lock, reserving the
// array first; nullptr when it cannot cover the page (the block then goes to the table), or while
// this thread is inside the log (stack::t_busy: a signal handler's allocation, which the log skips).
Entry* entry_slow(unsigned area, size_t page, uint32_t k);

// The entry of block k of page `page` of area `area` (k < kEntriesPerPage).
[[gnu::always_inline]] inline Entry* entry(unsigned area, size_t page, uint32_t k) {
  Area& a = g_areas[area];
  if (__builtin_expect(page < a.ready.load(std::memory_order_acquire), 1))
    return a.entries + page * kEntriesPerPage + k;
  return entry_slow(area, page, k);
}

// Every entry back to 0 (reset_malloc_log, the log started again): the memory is given back.
void clear_all();
// Bytes of the side arrays that are resident (the statistics' metadata).
uint64_t resident_bytes();
// Calls f(value) for every entry that holds a block, reading only the memory pages of the arrays
// that are resident (mincore: a page never written is not made resident by the walk). Lock-free:
// entries written meanwhile may be seen or not.
template <class F>
void for_each_entry(F f);
// The area's entries and the pages of the area they cover now (0: none yet).
Entry* area_entries(unsigned area, size_t* pages);

template <class F>
void for_each_entry(F f) {
  const size_t page = page_size(), per_page = page / sizeof(Entry);
  unsigned char vec[256];
  for (unsigned area = 0; area < kAreas; ++area) {
    size_t pages = 0;
    Entry* e = area_entries(area, &pages);
    size_t bytes = pages * kEntriesPerPage * sizeof(Entry);
    for (size_t done = 0; done < bytes;) {
      size_t chunk = bytes - done < sizeof(vec) * page ? bytes - done : sizeof(vec) * page;
      uintptr_t at = reinterpret_cast<uintptr_t>(e) + done;
      // Without the residency vector (the kernel refused), every page is read: a page never
      // written then reads as zeros, which costs the walk time but no count.
      if (!os::resident_vector(at, chunk, vec)) __builtin_memset(vec, 1, sizeof(vec));
      for (size_t m = 0; m < chunk / page; ++m) {
        if (!(vec[m] & 1)) continue;
        const Entry* x = reinterpret_cast<const Entry*>(at + m * page);
        for (size_t k = 0; k < per_page; ++k) {
          uint64_t v = x[k].load(std::memory_order_relaxed);
          if (v != 0) f(v);
        }
      }
      done += chunk;
    }
  }
}

}  // namespace aixmalloc::mlog::side
