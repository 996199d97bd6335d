// Where the Malloc Log keeps the record of a block of the pool or of watson2: its entry in the side
// array of its area (options/malloc_log_side.h), found from the block's page with the multiply of
// the allocator's own is_block_start() (and, for the pool, its rotate). Here, where both allocators are known; the log
// reaches it through mlog::g_side_of, malloc and free under the log alone inline (requests.cpp).
#pragma once

#include "options/malloc_log.h"
#include "options/pool.h"
#include "policies/watson2.h"

namespace aixmalloc::rt {

// The entry of block x of a pool page, and of a watson2 page.
[[gnu::always_inline]] inline mlog::side::Entry* pool_log_entry_at(const pool::PoolPage* page, uint64_t x) {
  size_t index = (reinterpret_cast<uintptr_t>(page) - pool::g_area.base) >> pool::kPageShift;
  return mlog::side::entry(mlog::side::kPool, index, static_cast<uint32_t>(x));
}
[[gnu::always_inline]] inline mlog::side::Entry* watson2_log_entry_at(const void* p, uint64_t x) {
  size_t index = (reinterpret_cast<uintptr_t>(p) - watson2::g_area.base) >> watson2::kPageShift;
  return mlog::side::entry(mlog::side::kWatson2, index, static_cast<uint32_t>(x));
}

// A pool block's entry; with `check`, nullptr for a pointer that is not a block's start (free
// then reports it as the pool would).
[[gnu::always_inline]] inline mlog::side::Entry* pool_log_entry(const void* p, bool check) {
  const pool::PoolPage* page = pool::page_of(p);
  uint64_t x = pool::block_number(page, p);
  if (check && !pool::is_block_number(page, p, x)) return nullptr;
  return pool_log_entry_at(page, x);
}

// A watson2 block's entry, the same way.
[[gnu::always_inline]] inline mlog::side::Entry* watson2_log_entry(const void* p, bool check) {
  const watson2::Page* page = watson2::page_of(p);
  if (check && !watson2::is_block_start(page, p)) return nullptr;
  return watson2_log_entry_at(p, watson2::block_number(page, p));
}

static_assert(pool::kPageSize / 16 <= mlog::side::kEntriesPerPage &&
                  watson2::kPageSize / 16 <= mlog::side::kEntriesPerPage,
              "a block of 16 bytes or more has an entry in its page's part of the side array");

static_assert(pool::kMaxRequest <= mlog::side::kMaxSize && watson2::kMaxSmall <= mlog::side::kMaxSize,
              "an entry holds the size of any block of the pool or of watson2");

// mlog::g_side_of: any pointer; nullptr unless a block of watson2 or the pool.
mlog::side::Entry* log_entry_of(const void* p);

}  // namespace aixmalloc::rt
