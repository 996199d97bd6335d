// The Malloc Log's side arrays (malloc_log_side.h): reserved at the first block of their area,
// committed a step at a time under the records' lock (which fork takes before any other of the
// log's), cleared by giving their memory back.
#include "options/malloc_log_side.h"

#include "libmalloc/base/lock.h"
#include "libmalloc/base/os.h"
#include "libmalloc/base/platform.h"
#include "libmalloc/base/stack_capture.h"
#include "libmalloc/base/zones.h"
#include "options/malloc_log.h"

namespace aixmalloc::mlog::side {
namespace {

constexpr size_t kPageBytes = kEntriesPerPage * sizeof(Entry);  // 32 KiB per page of the area
constexpr size_t kCommitPages = 32;                            // 1 MiB of entries at a time

// Reserves the area's array: 2 GiB of address space, less under RLIMIT_AS (an eighth of it at
// most, as every range of the allocator), halved while the kernel refuses.
bool reserve(Area& a) {
  size_t bytes = zones::within_address_limit(kMaxPages * kPageBytes, kCommitPages * kPageBytes);
  uintptr_t at = 0;
  while (at == 0 && bytes >= kCommitPages * kPageBytes) {
    at = os::reserve(bytes, page_size());
    if (at == 0) bytes /= 2;
  }
  if (at == 0) return false;
  a.entries = reinterpret_cast<Entry*>(at);
  a.reserved = bytes / kPageBytes;
  return true;
}

// The entries of `page` committed (and those of some pages after it), the array reserved first.
Entry* commit_for(unsigned area, size_t page, uint32_t k) {
  Area& a = g_areas[area];
  LockGuard g(records().lock());
  size_t ready = a.ready.load(std::memory_order_relaxed);
  if (page < ready) return a.entries + page * kEntriesPerPage + k;  // another thread committed it
  if (a.refused || (a.entries == nullptr && !reserve(a))) {
    a.refused = true;
    return nullptr;
  }
  if (page >= a.reserved) return nullptr;
  size_t want = (page / kCommitPages + 1) * kCommitPages;
  if (want < 2 * ready) want = 2 * ready;  // fewer calls as the area grows
  if (want > a.reserved) want = a.reserved;
  uintptr_t base = reinterpret_cast<uintptr_t>(a.entries);
  if (!os::commit(base + ready * kPageBytes, (want - ready) * kPageBytes)) return nullptr;
  a.ready.store(want, std::memory_order_release);
  return a.entries + page * kEntriesPerPage + k;
}

}  // namespace

// Under the records' lock, with t_busy set: a signal handler that interrupts this thread here and
// allocates gets no entry (its block goes to the table, which then skips it) instead of waiting
// for a lock its own thread holds. So does a thread already inside the log's slow path (t_busy).
Entry* entry_slow(unsigned area, size_t page, uint32_t k) {
  if (stack::t_busy) return nullptr;  // and the block is not logged at all (t_busy)
  stack::t_busy = true;
  Entry* e = commit_for(area, page, k);
  stack::t_busy = false;
  if (e == nullptr) g_spilled.store(true, std::memory_order_relaxed);
  return e;
}

void clear_all() {
  for (Area& a : g_areas) {
    size_t ready = a.ready.load(std::memory_order_acquire);
    if (ready != 0) os::disclaim(reinterpret_cast<uintptr_t>(a.entries), ready * kPageBytes);
  }
}

Entry* area_entries(unsigned area, size_t* pages) {
  Area& a = g_areas[area];
  *pages = a.ready.load(std::memory_order_acquire);
  return a.entries;
}

uint64_t resident_bytes() {
  uint64_t n = 0;
  for (const Area& a : g_areas) {
    size_t ready = a.ready.load(std::memory_order_acquire);
    if (ready != 0)
      n += os::resident_bytes(reinterpret_cast<uintptr_t>(a.entries), ready * kPageBytes);
  }
  return n;
}

}  // namespace aixmalloc::mlog::side
