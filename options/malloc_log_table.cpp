// The Malloc Log's tables (malloc_log_table.h): records interned by hash with a lock-free lookup,
// and the striped address table with linear probing and backward-shift deletion (no tombstones,
// so a table that sees many frees stays as fast as a fresh one).
#include "options/malloc_log_table.h"

#include <cstring>

#include "libmalloc/base/os.h"
#include "libmalloc/base/platform.h"

namespace aixmalloc::mlog {
namespace {

constexpr size_t kCommitStep = 64 * 1024;  // records' memory is committed in steps of this

// The index: open addressing, one word a slot, at most half full. It starts small, so that the
// lookups stay in a few cache lines, and doubles with the records.
//   bits 0-19  record + 1 (0: an empty slot)   bits 20-25  heap   bits 26-63  the key's tag
// A lookup reads the slot's line, then only the record of a matching tag and heap.
constexpr uint32_t kFirstSlots = 2048;
static_assert(kMaxHeaps <= 64, "a heap's number fits the slot's 6 bits");

size_t round_to_pages(size_t n) { return align_up(n, kCommitStep); }

}  // namespace

// --- records --------------------------------------------------------------------------------------

bool Records::init(unsigned depth, uint32_t capacity) {
  depth_ = depth;
  capacity_ = capacity > kMaxRecords ? kMaxRecords : capacity;
  reserved_[0] = round_to_pages((size_t{capacity_} + 1) * sizeof(Record));
  reserved_[1] = round_to_pages(size_t{capacity_} * sizeof(RecordInfo));
  reserved_[2] = round_to_pages(size_t{capacity_} * depth_ * sizeof(uintptr_t));
  uint32_t slots = kFirstSlots;
  while (slots < 2 * size_t{capacity_}) slots <<= 1;
  max_slots_ = slots;
  reserved_[3] = round_to_pages(size_t{slots} * sizeof(uint64_t));
  records_ = reinterpret_cast<Record*>(os::reserve(reserved_[0], page_size()));
  info_ = reinterpret_cast<RecordInfo*>(os::reserve(reserved_[1], page_size()));
  frames_ = reinterpret_cast<uintptr_t*>(os::reserve(reserved_[2], page_size()));
  index_ = reinterpret_cast<std::atomic<uint64_t>*>(os::reserve(reserved_[3], page_size()));
  count_.store(0, std::memory_order_relaxed);
  committed_ = 0;
  committed_bytes_ = 0;
  index_bytes_ = 0;
  overflow_ = Record{};
  overflow_info_ = RecordInfo{};
  if (!records_ || !info_ || !frames_ || !index_ || !commit_for(1) || !commit_index(kFirstSlots)) {
    destroy();
    return false;
  }
  index_mask_.store(kFirstSlots - 1, std::memory_order_release);
  return true;
}

void Records::destroy() {
  if (records_) os::release(reinterpret_cast<uintptr_t>(records_), reserved_[0]);
  if (info_) os::release(reinterpret_cast<uintptr_t>(info_), reserved_[1]);
  if (frames_) os::release(reinterpret_cast<uintptr_t>(frames_), reserved_[2]);
  if (index_) os::release(reinterpret_cast<uintptr_t>(index_), reserved_[3]);
  records_ = nullptr, info_ = nullptr, frames_ = nullptr, index_ = nullptr;
  count_.store(0, std::memory_order_relaxed);
  committed_ = 0;
  committed_bytes_ = 0;
  index_bytes_ = 0;
}

// Makes index slots [0, n) usable (their memory reads as 0 until written).
bool Records::commit_index(uint32_t n) {
  size_t want = round_to_pages(size_t{n} * sizeof(uint64_t));
  if (want > reserved_[3]) want = reserved_[3];
  if (want <= index_bytes_) return true;
  uintptr_t from = reinterpret_cast<uintptr_t>(index_) + index_bytes_;
  if (!os::commit(from, want - index_bytes_)) return false;
  committed_bytes_ += want - index_bytes_;
  index_bytes_ = want;
  return true;
}

// Places record i in the index of `mask` + 1 slots (the lock is held).
void Records::place(uint32_t i, uint64_t key, uint32_t mask) {
  uint32_t at = static_cast<uint32_t>(key) & mask;
  while (index_[at].load(std::memory_order_relaxed) != 0) at = (at + 1) & mask;
  index_[at].store(slot_id(key, info_[i].heap) | (i + 1), std::memory_order_release);
}

// Twice as many slots, every record placed again, in place (the lock is held). A lookup without
// the lock meanwhile may miss its record and then takes the lock; it never returns a wrong one,
// since it compares the whole key, and its probes are bounded.
void Records::grow_index() {
  uint32_t slots = (index_mask_.load(std::memory_order_relaxed) + 1) * 2;
  if (slots > max_slots_ || !commit_index(slots)) return;
  for (uint32_t b = 0; b < slots; ++b) index_[b].store(0, std::memory_order_relaxed);
  uint32_t n = count_.load(std::memory_order_relaxed);
  for (uint32_t i = 0; i < n; ++i)
    place(i, record_key(info_[i].stack_hash, info_[i].heap, records_[i].size), slots - 1);
  index_mask_.store(slots - 1, std::memory_order_release);
}

// Makes the memory of records [0, n] (n + 1: the terminator) usable, a step at a time.
bool Records::commit_for(uint32_t n) {
  if (n < committed_) return true;
  uint32_t want = n + kCommitStep / sizeof(Record);
  if (want > capacity_) want = capacity_;
  auto grow = [&](void* base, size_t unit, size_t reserved) {
    size_t from = round_to_pages(size_t{committed_} * unit), to = round_to_pages((size_t{want} + 1) * unit);
    if (to > reserved) to = reserved;
    if (to <= from) return true;
    committed_bytes_ += to - from;
    return os::commit(reinterpret_cast<uintptr_t>(base) + from, to - from);
  };
  if (!grow(records_, sizeof(Record), reserved_[0]) || !grow(info_, sizeof(RecordInfo), reserved_[1]) ||
      !grow(frames_, depth_ * sizeof(uintptr_t), reserved_[2]))
    return false;
  committed_ = want;
  return true;
}

// A record not found without the lock: looked for again under it, then made.
uint32_t Records::make_record(uint64_t sh, uint64_t key, unsigned heap, size_t size,
                              const uintptr_t* frames, unsigned n, bool truncated) {
  LockGuard g(lock_);
  uint32_t mask = index_mask_.load(std::memory_order_relaxed);
  uint32_t found = find(key, heap, size, frames, n, mask);
  if (found != kNoRecord) return found;
  uint32_t at = count_.load(std::memory_order_relaxed);
  if (at >= capacity_ || !commit_for(at + 1)) return kOverflow;
  Record& r = records_[at];
  r.size = size;
  r.cnt = 0;
  for (unsigned k = 0; k < kApiDepth; ++k) r.callers[k] = k < n ? frames[k] : 0;
  uintptr_t* f = frames_ + size_t{at} * depth_;
  memcpy(f, frames, n * sizeof(uintptr_t));
  info_[at] = RecordInfo{sh, static_cast<uint16_t>(heap), static_cast<uint8_t>(n), truncated, 0, 0};
  if (truncated) truncated_.fetch_add(1, std::memory_order_relaxed);
  count_.store(at + 1, std::memory_order_release);
  if (2 * (size_t{at} + 1) > size_t{mask} + 1 && 2 * (size_t{mask} + 1) <= max_slots_)
    grow_index();
  else
    place(at, key, mask);
  return at;
}

void Records::zero_counts(int heap) {
  uint32_t n = count();
  for (uint32_t i = 0; i < n; ++i) {
    if (heap < 0 || info_[i].heap == heap) {
      __atomic_store_n(&records_[i].cnt, 0, __ATOMIC_RELAXED);
      info_[i].walk_counted = 0;
    }
  }
  if (heap <= 0) {
    __atomic_store_n(&overflow_.cnt, 0, __ATOMIC_RELAXED);
    overflow_info_.walk_counted = 0;
  }
}

void Records::begin_walk() {
  uint32_t n = count();
  for (uint32_t i = 0; i < n; ++i) info_[i].walk_seen = 0;
  overflow_info_.walk_seen = 0;
}

// The records made during the walk (count() grew) started at 0 and are moved too.
void Records::end_walk() {
  auto settle = [&](uint32_t i) {
    RecordInfo& in = info_mut(i);
    if (in.walk_seen != in.walk_counted)
      count_by(record(i).cnt, static_cast<int64_t>(in.walk_seen - in.walk_counted));
    in.walk_counted = in.walk_seen;
  };
  uint32_t n = count();
  for (uint32_t i = 0; i < n; ++i) settle(i);
  settle(kOverflow);
}

// --- live allocations -----------------------------------------------------------------------------

bool LiveTable::allocate(Stripe& s, uint32_t slots) {
  auto* fresh = reinterpret_cast<uint64_t*>(os::map(size_t{slots} * sizeof(uint64_t), page_size()));
  if (fresh == nullptr) return false;
  Extended* ext = nullptr;
  uint64_t* aux = nullptr;
  if (extended_) {
    ext = reinterpret_cast<Extended*>(os::map(size_t{slots} * sizeof(Extended), page_size()));
  } else {
    aux = reinterpret_cast<uint64_t*>(os::map(size_t{slots} * sizeof(uint64_t), page_size()));
  }
  if (ext == nullptr && aux == nullptr) {
    os::release(reinterpret_cast<uintptr_t>(fresh), size_t{slots} * sizeof(uint64_t));
    return false;
  }
  s.slots = fresh;
  s.ext = ext;
  s.aux = aux;
  s.mask = slots - 1;
  s.used = 0;
  return true;
}

bool LiveTable::init(bool extended) {
  extended_ = extended;
  for (Stripe& s : stripes_)
    if (!allocate(s, 512)) return false;
  return true;
}

void LiveTable::destroy() {
  for (Stripe& s : stripes_) {
    if (s.slots) os::release(reinterpret_cast<uintptr_t>(s.slots), (size_t{s.mask} + 1) * sizeof(uint64_t));
    if (s.ext) os::release(reinterpret_cast<uintptr_t>(s.ext), (size_t{s.mask} + 1) * sizeof(Extended));
    if (s.aux) os::release(reinterpret_cast<uintptr_t>(s.aux), (size_t{s.mask} + 1) * sizeof(uint64_t));
    s.slots = nullptr, s.ext = nullptr, s.aux = nullptr, s.mask = 0, s.used = 0;
  }
}

// Doubles the stripe's table (at 7/8 full), moving every entry; the stripe's lock is held.
bool LiveTable::grow(Stripe& s) {
  Stripe old;
  old.mask = s.mask, old.slots = s.slots, old.ext = s.ext, old.aux = s.aux;
  uint32_t used = s.used;
  if (!allocate(s, (s.mask + 1) * 2)) return false;
  for (uint32_t i = 0; i <= old.mask; ++i) {
    if (old.slots[i] == 0) continue;
    uint32_t j = home(s, hash((old.slots[i] >> kRecordBits) << 4));
    while (s.slots[j] != 0) j = (j + 1) & s.mask;
    s.slots[j] = old.slots[i];
    if (s.ext) s.ext[j] = old.ext[i];
    if (s.aux) s.aux[j] = old.aux[i];
  }
  s.used = used;
  os::release(reinterpret_cast<uintptr_t>(old.slots), (size_t{old.mask} + 1) * sizeof(uint64_t));
  if (old.ext) os::release(reinterpret_cast<uintptr_t>(old.ext), (size_t{old.mask} + 1) * sizeof(Extended));
  if (old.aux) os::release(reinterpret_cast<uintptr_t>(old.aux), (size_t{old.mask} + 1) * sizeof(uint64_t));
  return true;
}

void LiveTable::erase_at(Stripe& s, uint32_t i) {
  s.slots[i] = 0;
  --s.used;
  for (uint32_t j = (i + 1) & s.mask; s.slots[j] != 0; j = (j + 1) & s.mask) {
    uint32_t k = home(s, hash((s.slots[j] >> kRecordBits) << 4));
    // The entry at j may move back to i unless its home lies cyclically in (i, j].
    bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (stays) continue;
    s.slots[i] = s.slots[j];
    if (s.ext) s.ext[i] = s.ext[j];
    if (s.aux) s.aux[i] = s.aux[j];
    s.slots[j] = 0;
    i = j;
  }
}

uint64_t LiveTable::live() const {
  uint64_t n = 0;
  for (const Stripe& s : stripes_) n += s.used;
  return n;
}

uint64_t LiveTable::logged() const {
  uint64_t n = 0;
  for (const Stripe& s : stripes_) n += __atomic_load_n(&s.logged, __ATOMIC_RELAXED);
  return n;
}

uint64_t LiveTable::metadata_bytes() const {
  uint64_t n = sizeof(*this);
  for (const Stripe& s : stripes_)
    n += (uint64_t{s.mask} + 1) * (sizeof(uint64_t) + (s.ext ? sizeof(Extended) : 0) + (s.aux ? sizeof(uint64_t) : 0));
  return n;
}

void LiveTable::lock_all() {
  for (Stripe& s : stripes_) s.lock.lock();
}
void LiveTable::unlock_all() {
  for (Stripe& s : stripes_) s.lock.unlock();
}
void LiveTable::reset_locks_in_child() {
  for (Stripe& s : stripes_) s.lock.reset_in_child();
}

}  // namespace aixmalloc::mlog
