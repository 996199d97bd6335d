// The Malloc Log's side arrays: where the log keeps the record of a live block of the pool or of
// watson2 (MALLOCDEBUG=log without `extended`), in place of the table by address
// (malloc_log_table.h). Both carve 64 KiB pages into blocks of one size, at least 16 bytes, and
// find a block's number in its page with a multiply and a rotate (their is_block_start()); so an
// area's side array has 4096 entries per page, and entry k of page i holds the record + 1 of
// block k of page i, 0 for none. Noting a block is then one store, forgetting it a load and a
// store: no hash, no lock, no probe, no shift of the entries that follow.
//
//   the area:        | page 0 (64 KiB)   | page 1            | ...
//   its side array:  | 4096 x uint32 (16 KiB) | 4096 x uint32 | ...   reserved for kMaxPages pages,
//                                                                     committed as pages are used
//
// Only the memory pages of the array that entries were written to take memory: 4 bytes a block
// in the pages the blocks use (metadata_bytes() counts what is resident, not what is committed).
// An entry is written by the thread that noted the block and read by the one that frees it, which
// the program's own hand-over of the block orders. A page past the reservation (an area beyond
// 4 GiB) has no side array: its blocks go to the table, as every block does with `extended`,
// whose fields have no room here. The reports need no address of these blocks (the records'
// counts are the log; only `extended` lists addresses), so they read the records alone.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace aixmalloc::mlog::side {

inline constexpr unsigned kPool = 0, kWatson2 = 1, kAreas = 2;
inline constexpr size_t kEntriesPerPage = 4096;  // 64 KiB / 16 bytes
inline constexpr size_t kMaxPages = size_t{1} << 16;  // 4 GiB of an area: a 1 GiB reservation

using Entry = std::atomic<uint32_t>;

struct Area {
  std::atomic<size_t> ready{0};  // pages whose entries are committed
  Entry* entries = nullptr;      // set once, before ready first leaves 0
  size_t reserved = 0;           // pages reserved (0: not yet, or refused)
  bool refused = false;
};
[[gnu::visibility("hidden")]] inline constinit Area g_areas[kAreas];

// On while the log keeps these blocks here (not with `extended`): set once by the runtime.
inline bool g_on = false;

// Commits the entries of page `page` (and some after it) under the records' lock, reserving the
// array first; nullptr when it cannot cover the page, or while this thread is inside the log
// (stack::t_busy: a signal handler's allocation), and then the block goes to the table.
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

}  // namespace aixmalloc::mlog::side
