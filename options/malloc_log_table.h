// The Malloc Log's two tables (MALLOCDEBUG=log, report_allocations): the records, one per
// (heap, size, stack) with a count of the live allocations that share them, as AIX aggregates its
// struct malloc_log; and the live allocations, address -> record. Memory from base's OS interface.
//
//   Records   | Record 0 | Record 1 | ... |   the array get_malloc_log_live() returns: AIX's
//             |  size cnt callers[4]     |   struct malloc_log; ends at a record whose
//   RecordInfo| hash heap frames, walk's |   callers[0] is 0. Never moves, never shrinks: a
//   frames    | depth return addresses   |   record is found without a lock and counted with
//   index     | tag, heap, record        |   atomic adds (or by the walk that makes the counts
//             (open addressing, twice    |   when the log is read: malloc_log.h); only a new
//              the records' count,       |   record takes the lock
//              doubled under the lock)
//
//   LiveTable  64 stripes by address, each an open-addressing table of 8-byte entries
//              (address >> 4) << 20 | record, under the stripe's lock; with `extended` a parallel
//              array of pid, thread, sequence number and time per entry, without it a parallel
//              array of 8-byte words: 0 when the entry's record is the block's own (counted in
//              it), else the block's size and heap (table_aux()) with a record of its stack,
//              counted when the log is read (malloc_log.h's refresh_counts).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "libmalloc/base/lock.h"  // and __libc_single_threaded

namespace aixmalloc::mlog {

inline constexpr unsigned kApiDepth = 4;  // AIX's MALLOC_LOG_STACKDEPTH: the callers of a Record
inline constexpr unsigned kRecordBits = 20;
// Records that can exist: every (heap, size, stack) beyond them is counted in one overflow record.
inline constexpr uint32_t kMaxRecords = (1u << kRecordBits) - 2;
inline constexpr uint32_t kOverflow = kMaxRecords;  // the overflow record's index
inline constexpr uint32_t kNoRecord = UINT32_MAX;

inline uint64_t record_key(uint64_t stack, unsigned heap, size_t size);

struct Record {
  size_t size;
  size_t cnt;
  uintptr_t callers[kApiDepth];
};

struct RecordInfo {
  uint64_t stack_hash;  // of the frames alone: the report groups records by stack
  uint16_t heap;
  uint8_t frames;       // return addresses recorded
  uint8_t truncated;    // the capture ended early (a frame without a usable rule)
  // Blocks counted in this record by the walk that makes the counts when the log is read (those
  // of the side arrays, malloc_log_side.h, and the table's entries with a size, table_aux): as the
  // last walk counted them (and added them to the record's cnt), and as the walk in progress does.
  uint64_t walk_counted;
  uint64_t walk_seen;
};

class Records {
 public:
  // Maps the tables for stacks of `depth` frames and at most `capacity` records; false when the
  // address space cannot be had.
  bool init(unsigned depth, uint32_t capacity = kMaxRecords);
  void destroy();

  // The record of (heap, size, frames[0, n)), created when new. kOverflow when the table is full.
  // `hash`, when not null: the frames' hash if not 0, else set to it (kept by the caller for the
  // same frames: stack_capture.h's Result::kept).
  uint32_t intern(unsigned heap, size_t size, const uintptr_t* frames, unsigned n, bool truncated,
                  uint64_t* hash = nullptr);
  // The record of (heap, size, the frames f0..f3) whose frames hash to `hash`, if it exists
  // (kNoRecord otherwise): intern()'s lookup alone, for tables of the API's depth (depth() is
  // kApiDepth, so a record's callers are its frames) and a heap of the slot's 6 bits.
  uint32_t existing(unsigned heap, size_t size, uintptr_t f0, uintptr_t f1, uintptr_t f2,
                    uintptr_t f3, uint64_t hash) const;
  // Counted with an atomic add, or a plain one while the process has one thread (lock.h's
  // SpinLock says why that is safe).
  void add(uint32_t i) { count_by(record(i).cnt, 1); }
  void drop(uint32_t i) { count_by(record(i).cnt, -1); }
  // The walk that makes the counts (one at a time: the caller's lock): every record's walk_seen
  // to 0, then see_in_walk() once per block, then end_walk() moves each count to what was seen.
  void begin_walk();
  void see_in_walk(uint32_t i) { ++info_mut(i).walk_seen; }
  void end_walk();

  uint32_t count() const { return count_.load(std::memory_order_acquire); }
  Record& record(uint32_t i) { return i == kOverflow ? overflow_ : records_[i]; }
  const RecordInfo& info(uint32_t i) const { return i == kOverflow ? overflow_info_ : info_[i]; }
  RecordInfo& info_mut(uint32_t i) { return i == kOverflow ? overflow_info_ : info_[i]; }
  const uintptr_t* frames(uint32_t i) const { return i == kOverflow ? nullptr : frames_ + size_t{i} * depth_; }
  Record* live_array() { return records_; }
  unsigned depth() const { return depth_; }
  uint32_t capacity() const { return capacity_; }
  // Every count (of heap `heap`, or all with -1) to 0; the records stay, to be counted again.
  void zero_counts(int heap);
  uint64_t metadata_bytes() const { return committed_bytes_; }
  uint64_t truncated() const { return truncated_.load(std::memory_order_relaxed); }

  Lock& lock() { return lock_; }

 private:
  static void count_by(size_t& cnt, int64_t by) {
    if (__libc_single_threaded)
      __atomic_store_n(&cnt, __atomic_load_n(&cnt, __ATOMIC_RELAXED) + static_cast<size_t>(by), __ATOMIC_RELAXED);
    else
      __atomic_fetch_add(&cnt, static_cast<size_t>(by), __ATOMIC_RELAXED);
  }
  bool same(uint32_t i, unsigned heap, size_t size, const uintptr_t* frames, unsigned n) const;
  uint32_t find(uint64_t key, unsigned heap, size_t size, const uintptr_t* frames, unsigned n,
                uint32_t mask) const;
  [[gnu::noinline]] uint32_t make_record(uint64_t sh, uint64_t key, unsigned heap, size_t size,
                                         const uintptr_t* frames, unsigned n, bool truncated);
  bool commit_for(uint32_t n);
  bool commit_index(uint32_t n);
  void place(uint32_t i, uint64_t key, uint32_t mask);
  void grow_index();

  Lock lock_;
  unsigned depth_ = 0;
  uint32_t capacity_ = 0;
  std::atomic<uint32_t> count_{0};
  uint32_t committed_ = 0;  // records whose memory is committed
  uint64_t committed_bytes_ = 0;
  std::atomic<uint64_t> truncated_{0};
  Record* records_ = nullptr;  // capacity_ + 1: the last is the terminator
  RecordInfo* info_ = nullptr;
  uintptr_t* frames_ = nullptr;
  std::atomic<uint64_t>* index_ = nullptr;  // reserved for max_slots_, used up to the mask
  std::atomic<uint32_t> index_mask_{0};
  uint32_t max_slots_ = 0;
  size_t index_bytes_ = 0;  // committed
  size_t reserved_[4] = {};
  Record overflow_ = {};
  RecordInfo overflow_info_ = {};
};

struct Extended {
  uint64_t seq;
  uint64_t time_ns;  // CLOCK_REALTIME
  uint32_t tid;
  uint32_t pid;
};

// One live allocation as the report and the API see it.
struct LiveEntry {
  uintptr_t address;
  uint32_t record;
  uint64_t aux;  // 0, or table_aux(): record is then a record of the block's stack
  Extended ext;
};

// A table entry whose count is made when the log is read: the block's size (below 2^47, as every
// request) and heap, and bit 0 set.
inline constexpr uint64_t table_aux(size_t size, unsigned heap) {
  return uint64_t{size} << 16 | uint64_t{heap & 0x7fff} << 1 | 1;
}
inline constexpr size_t aux_size(uint64_t aux) { return static_cast<size_t>(aux >> 16); }
inline constexpr unsigned aux_heap(uint64_t aux) { return static_cast<unsigned>(aux >> 1) & 0x7fff; }

class LiveTable {
 public:
  static constexpr unsigned kStripes = 64;

  bool init(bool extended);
  void destroy();

  // Records `address` as live in `record` (with `aux`, 0 or table_aux(): kept only without
  // `extended`). Returns the record it had (a block freed while the log could not see it; its
  // aux in *had_aux), kNoRecord, or kNoRoom when the table could not grow (then it is not kept).
  // `fresh`: a new allocation, counted in logged(); false for one put back (a failed realloc).
  static constexpr uint32_t kNoRoom = UINT32_MAX - 1;
  uint32_t insert(uintptr_t address, uint32_t record, const Extended* ext, bool fresh = true,
                  uint64_t aux = 0, uint64_t* had_aux = nullptr);
  // Forgets `address`; its record (and, when kept, its extended fields and aux), or kNoRecord.
  uint32_t remove(uintptr_t address, Extended* ext = nullptr, uint64_t* aux = nullptr);

  // Calls f(LiveEntry) for every entry, one stripe at a time under its lock.
  template <class F>
  void for_each(F f) {
    for (Stripe& s : stripes_) {
      LockGuard g(s.lock);
      for (uint32_t i = 0; i <= s.mask; ++i) {
        if (s.slots[i] == 0) continue;
        LiveEntry e{(s.slots[i] >> kRecordBits) << 4, static_cast<uint32_t>(s.slots[i] & kRecordMask),
                    s.aux ? s.aux[i] : 0, {}};
        if (s.ext) e.ext = s.ext[i];
        f(e);
      }
    }
  }
  // Forgets every entry for which keep(record, aux) is false.
  template <class Keep>
  void filter(Keep keep);
  // Calls f(record, aux) for every entry whose aux is not 0, under its stripe's lock.
  template <class F>
  void for_each_deferred(F f);

  uint64_t live() const;
  uint64_t logged() const;  // allocations inserted since start (a racy sum: a statistic)
  uint64_t metadata_bytes() const;
  bool extended() const { return extended_; }

  void lock_all();
  void unlock_all();
  void reset_locks_in_child();

 private:
  static constexpr uint64_t kRecordMask = (uint64_t{1} << kRecordBits) - 1;
  struct alignas(64) Stripe {
    SpinLock lock;
    uint32_t mask = 0;  // slots - 1
    uint32_t used = 0;
    uint64_t logged = 0;  // insertions of a new allocation (not of one put back)
    uint64_t* slots = nullptr;
    Extended* ext = nullptr;
    uint64_t* aux = nullptr;  // without `extended`
  };
  static uint64_t hash(uintptr_t address) { return (address >> 4) * 0x9e3779b97f4a7c15u; }
  Stripe& stripe_of(uint64_t h) { return stripes_[h >> 58]; }
  static uint32_t home(const Stripe& s, uint64_t h) { return static_cast<uint32_t>((h >> 26) & s.mask); }
  bool allocate(Stripe& s, uint32_t slots);
  bool grow(Stripe& s);
  void erase_at(Stripe& s, uint32_t i);

  Stripe stripes_[kStripes];
  bool extended_ = false;
};

template <class Keep>
void LiveTable::filter(Keep keep) {
  for (Stripe& s : stripes_) {
    LockGuard g(s.lock);
    for (uint32_t i = 0; i <= s.mask;) {
      // erase_at shifts a later entry into slot i: look at it again.
      if (s.slots[i] != 0 && !keep(static_cast<uint32_t>(s.slots[i] & kRecordMask), s.aux ? s.aux[i] : 0)) {
        erase_at(s, i);
        continue;
      }
      ++i;
    }
  }
}

template <class F>
void LiveTable::for_each_deferred(F f) {
  for (Stripe& s : stripes_) {
    LockGuard g(s.lock);
    if (s.aux == nullptr) continue;
    for (uint32_t i = 0; i <= s.mask; ++i)
      if (s.slots[i] != 0 && s.aux[i] != 0) f(static_cast<uint32_t>(s.slots[i] & kRecordMask), s.aux[i]);
  }
}

// --- the lookups of every malloc and free, inline ----------------------------------------------------

// The frames' hash, which the report groups records by; then the record's, with heap and size.
inline uint64_t stack_hash(const uintptr_t* frames, unsigned n) {
  uint64_t h = 0x9e3779b97f4a7c15u * (n + 1);
  for (unsigned i = 0; i < n; ++i) h = (h ^ frames[i]) * 0xbf58476d1ce4e5b9u;
  return h ^ (h >> 31);
}

inline uint64_t record_key(uint64_t stack, unsigned heap, size_t size) {
  uint64_t h = (stack ^ (size * 0x94d049bb133111ebu) ^ heap) * 0x9e3779b97f4a7c15u;
  return h ^ (h >> 29);
}

// The records' index (malloc_log_table.cpp says more): a slot holds record + 1 in bits 0-19, the
// heap in bits 20-25 and the key's tag above.
inline constexpr unsigned kHeapShift = kRecordBits, kTagShift = kRecordBits + 6;
inline constexpr uint64_t kIndexMask = (uint64_t{1} << kRecordBits) - 1;
inline uint64_t slot_id(uint64_t key, unsigned heap) {
  return (key >> kTagShift) << kTagShift | uint64_t{heap & 63} << kHeapShift;
}

// Record i is (heap, size, frames): the heap is in its index slot; up to the API's depth the
// frames are the record's callers, zero after the last (a return address is never 0).
inline bool Records::same(uint32_t i, unsigned heap, size_t size, const uintptr_t* frames,
                          unsigned n) const {
  const Record& r = records_[i];
  if (r.size != size || (heap > 63 && info_[i].heap != heap)) return false;
  if (depth_ <= kApiDepth) {
    if (n == kApiDepth)  // the usual case, without a test per frame
      return ((r.callers[0] ^ frames[0]) | (r.callers[1] ^ frames[1]) | (r.callers[2] ^ frames[2]) |
              (r.callers[3] ^ frames[3])) == 0;
    bool equal = true;
#pragma GCC unroll 4
    for (unsigned k = 0; k < kApiDepth; ++k) equal &= r.callers[k] == (k < n ? frames[k] : 0);
    return equal;
  }
  if (info_[i].frames != n) return false;
  const uintptr_t* f = frames_ + size_t{i} * depth_;
  for (unsigned k = 0; k < n; ++k)
    if (f[k] != frames[k]) return false;
  return true;
}

[[gnu::always_inline]] inline uint32_t Records::find(uint64_t key, unsigned heap, size_t size,
                                                     const uintptr_t* frames, unsigned n,
                                                     uint32_t mask) const {
  uint64_t id = slot_id(key, heap);
  uint32_t at = static_cast<uint32_t>(key) & mask;
  for (uint32_t probes = 0; probes <= mask; ++probes, at = (at + 1) & mask) {
    uint64_t slot = index_[at].load(std::memory_order_acquire);
    if (slot == 0) break;
    uint32_t i = static_cast<uint32_t>(slot & kIndexMask) - 1;
    if ((slot & ~kIndexMask) == id && same(i, heap, size, frames, n)) return i;
  }
  return kNoRecord;
}

[[gnu::always_inline]] inline uint32_t Records::existing(unsigned heap, size_t size, uintptr_t f0,
                                                         uintptr_t f1, uintptr_t f2, uintptr_t f3,
                                                         uint64_t hash) const {
  uint64_t key = record_key(hash, heap, size);
  uint64_t id = slot_id(key, heap);
  uint32_t mask = index_mask_.load(std::memory_order_acquire);
  uint32_t at = static_cast<uint32_t>(key) & mask;
  for (uint32_t probes = 0; probes <= mask; ++probes, at = (at + 1) & mask) {
    uint64_t slot = index_[at].load(std::memory_order_acquire);
    if (slot == 0) break;
    if ((slot & ~kIndexMask) != id) continue;
    uint32_t i = static_cast<uint32_t>(slot & kIndexMask) - 1;
    const Record& r = records_[i];
    uintptr_t differ = (r.callers[0] ^ f0) | (r.callers[1] ^ f1) | (r.callers[2] ^ f2) |
                       (r.callers[3] ^ f3);
    if (r.size == size && differ == 0) return i;
  }
  return kNoRecord;
}

inline uint32_t Records::intern(unsigned heap, size_t size, const uintptr_t* frames, unsigned n,
                                bool truncated, uint64_t* hash) {
  if (n > depth_) n = depth_;
  uint64_t sh = hash ? *hash : 0;
  if (sh == 0) {
    sh = stack_hash(frames, n);
    if (hash) *hash = sh;
  }
  uint64_t key = record_key(sh, heap, size);
  uint32_t found = find(key, heap, size, frames, n, index_mask_.load(std::memory_order_acquire));
  return found != kNoRecord ? found : make_record(sh, key, heap, size, frames, n, truncated);
}

inline uint32_t LiveTable::insert(uintptr_t address, uint32_t record, const Extended* ext,
                                  bool fresh, uint64_t aux, uint64_t* had_aux) {
  uint64_t h = hash(address);
  Stripe& s = stripe_of(h);
  uint64_t key = address >> 4;
  LockGuard g(s.lock);
  __atomic_store_n(&s.logged, s.logged + fresh, __ATOMIC_RELAXED);
  if (s.used + 1 > (s.mask + 1) - ((s.mask + 1) >> 3) && !grow(s)) return kNoRoom;
  uint32_t i = home(s, h);
  for (; s.slots[i] != 0; i = (i + 1) & s.mask) {
    if ((s.slots[i] >> kRecordBits) == key) {
      uint32_t had = static_cast<uint32_t>(s.slots[i] & kRecordMask);
      s.slots[i] = key << kRecordBits | record;
      if (s.ext && ext) s.ext[i] = *ext;
      if (s.aux) {
        if (had_aux) *had_aux = s.aux[i];
        s.aux[i] = aux;
      }
      return had;
    }
  }
  s.slots[i] = key << kRecordBits | record;
  if (s.ext && ext) s.ext[i] = *ext;
  if (s.aux) s.aux[i] = aux;
  ++s.used;
  return kNoRecord;
}

inline uint32_t LiveTable::remove(uintptr_t address, Extended* ext, uint64_t* aux) {
  uint64_t h = hash(address);
  Stripe& s = stripe_of(h);
  uint64_t key = address >> 4;
  LockGuard g(s.lock);
  for (uint32_t i = home(s, h); s.slots[i] != 0; i = (i + 1) & s.mask) {
    if ((s.slots[i] >> kRecordBits) != key) continue;
    uint32_t had = static_cast<uint32_t>(s.slots[i] & kRecordMask);
    if (ext && s.ext) *ext = s.ext[i];
    if (aux) *aux = s.aux ? s.aux[i] : 0;
    if (s.slots[(i + 1) & s.mask] == 0) {  // the usual case: no entry after it to shift back
      s.slots[i] = 0;
      --s.used;
    } else {
      erase_at(s, i);
    }
    return had;
  }
  return kNoRecord;
}

}  // namespace aixmalloc::mlog
