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

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15u + (h << 6) + (h >> 2);
  return h * 0xbf58476d1ce4e5b9u;
}

uint64_t stack_hash(const uintptr_t* frames, unsigned n) {
  uint64_t h = n;
  for (unsigned i = 0; i < n; ++i) h = mix(h, frames[i]);
  return h ^ (h >> 31);
}

size_t round_to_pages(size_t n) { return align_up(n, kCommitStep); }

}  // namespace

// --- records --------------------------------------------------------------------------------------

bool Records::init(unsigned depth, uint32_t capacity) {
  depth_ = depth;
  capacity_ = capacity > kMaxRecords ? kMaxRecords : capacity;
  reserved_[0] = round_to_pages((size_t{capacity_} + 1) * sizeof(Record));
  reserved_[1] = round_to_pages(size_t{capacity_} * sizeof(RecordInfo));
  reserved_[2] = round_to_pages(size_t{capacity_} * depth_ * sizeof(uintptr_t));
  uint32_t buckets = 1;
  while (buckets < capacity_) buckets <<= 1;
  bucket_mask_ = buckets - 1;
  records_ = reinterpret_cast<Record*>(os::reserve(reserved_[0], page_size()));
  info_ = reinterpret_cast<RecordInfo*>(os::reserve(reserved_[1], page_size()));
  frames_ = reinterpret_cast<uintptr_t*>(os::reserve(reserved_[2], page_size()));
  buckets_ = reinterpret_cast<std::atomic<uint32_t>*>(os::map(size_t{buckets} * sizeof(uint32_t), page_size()));
  count_.store(0, std::memory_order_relaxed);
  committed_ = 0;
  committed_bytes_ = size_t{buckets} * sizeof(uint32_t);
  overflow_ = Record{};
  overflow_info_ = RecordInfo{};
  if (!records_ || !info_ || !frames_ || !buckets_ || !commit_for(1)) {
    destroy();
    return false;
  }
  return true;
}

void Records::destroy() {
  if (records_) os::release(reinterpret_cast<uintptr_t>(records_), reserved_[0]);
  if (info_) os::release(reinterpret_cast<uintptr_t>(info_), reserved_[1]);
  if (frames_) os::release(reinterpret_cast<uintptr_t>(frames_), reserved_[2]);
  if (buckets_) os::release(reinterpret_cast<uintptr_t>(buckets_), (size_t{bucket_mask_} + 1) * sizeof(uint32_t));
  records_ = nullptr, info_ = nullptr, frames_ = nullptr, buckets_ = nullptr;
  count_.store(0, std::memory_order_relaxed);
  committed_ = 0;
  committed_bytes_ = 0;
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

uint32_t Records::intern(unsigned heap, size_t size, const uintptr_t* frames, unsigned n, bool truncated) {
  if (n > depth_) n = depth_;
  uint64_t sh = stack_hash(frames, n);
  uint64_t key = mix(mix(sh, heap), size);
  std::atomic<uint32_t>& bucket = buckets_[key & bucket_mask_];
  auto same = [&](uint32_t i) {
    const RecordInfo& in = info_[i];
    return in.stack_hash == sh && in.heap == heap && in.frames == n && records_[i].size == size &&
           memcmp(frames_ + size_t{i} * depth_, frames, n * sizeof(uintptr_t)) == 0;
  };
  for (uint32_t i = bucket.load(std::memory_order_acquire); i != 0; i = info_[i - 1].next)
    if (same(i - 1)) return i - 1;
  LockGuard g(lock_);
  uint32_t head = bucket.load(std::memory_order_acquire);
  for (uint32_t i = head; i != 0; i = info_[i - 1].next)
    if (same(i - 1)) return i - 1;
  uint32_t at = count_.load(std::memory_order_relaxed);
  if (at >= capacity_ || !commit_for(at + 1)) return kOverflow;
  Record& r = records_[at];
  r.size = size;
  r.cnt = 0;
  for (unsigned k = 0; k < kApiDepth; ++k) r.callers[k] = k < n ? frames[k] : 0;
  uintptr_t* f = frames_ + size_t{at} * depth_;
  memcpy(f, frames, n * sizeof(uintptr_t));
  info_[at] = RecordInfo{sh, head, static_cast<uint16_t>(heap), static_cast<uint8_t>(n), truncated};
  if (truncated) truncated_.fetch_add(1, std::memory_order_relaxed);
  bucket.store(at + 1, std::memory_order_release);
  count_.store(at + 1, std::memory_order_release);
  return at;
}

void Records::zero_counts(int heap) {
  uint32_t n = count();
  for (uint32_t i = 0; i < n; ++i)
    if (heap < 0 || info_[i].heap == heap) __atomic_store_n(&records_[i].cnt, 0, __ATOMIC_RELAXED);
  if (heap <= 0) __atomic_store_n(&overflow_.cnt, 0, __ATOMIC_RELAXED);
}

// --- live allocations -----------------------------------------------------------------------------

bool LiveTable::allocate(Stripe& s, uint32_t slots) {
  auto* fresh = reinterpret_cast<uint64_t*>(os::map(size_t{slots} * sizeof(uint64_t), page_size()));
  if (fresh == nullptr) return false;
  Extended* ext = nullptr;
  if (extended_) {
    ext = reinterpret_cast<Extended*>(os::map(size_t{slots} * sizeof(Extended), page_size()));
    if (ext == nullptr) {
      os::release(reinterpret_cast<uintptr_t>(fresh), size_t{slots} * sizeof(uint64_t));
      return false;
    }
  }
  s.slots = fresh;
  s.ext = ext;
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
    s.slots = nullptr, s.ext = nullptr, s.mask = 0, s.used = 0;
  }
}

// Doubles the stripe's table (at 7/8 full), moving every entry; the stripe's lock is held.
bool LiveTable::grow(Stripe& s) {
  Stripe old;
  old.mask = s.mask, old.slots = s.slots, old.ext = s.ext;
  uint32_t used = s.used;
  if (!allocate(s, (s.mask + 1) * 2)) return false;
  for (uint32_t i = 0; i <= old.mask; ++i) {
    if (old.slots[i] == 0) continue;
    uint32_t j = home(s, hash((old.slots[i] >> kRecordBits) << 4));
    while (s.slots[j] != 0) j = (j + 1) & s.mask;
    s.slots[j] = old.slots[i];
    if (s.ext) s.ext[j] = old.ext[i];
  }
  s.used = used;
  os::release(reinterpret_cast<uintptr_t>(old.slots), (size_t{old.mask} + 1) * sizeof(uint64_t));
  if (old.ext) os::release(reinterpret_cast<uintptr_t>(old.ext), (size_t{old.mask} + 1) * sizeof(Extended));
  return true;
}

uint32_t LiveTable::insert(uintptr_t address, uint32_t record, const Extended* ext) {
  uint64_t h = hash(address);
  Stripe& s = stripe_of(h);
  uint64_t key = address >> 4;
  LockGuard g(s.lock);
  if (s.used + 1 > (s.mask + 1) - ((s.mask + 1) >> 3) && !grow(s)) return kNoRoom;
  uint32_t i = home(s, h);
  for (; s.slots[i] != 0; i = (i + 1) & s.mask) {
    if ((s.slots[i] >> kRecordBits) == key) {
      uint32_t had = static_cast<uint32_t>(s.slots[i] & kRecordMask);
      s.slots[i] = key << kRecordBits | record;
      if (s.ext && ext) s.ext[i] = *ext;
      return had;
    }
  }
  s.slots[i] = key << kRecordBits | record;
  if (s.ext && ext) s.ext[i] = *ext;
  ++s.used;
  return kNoRecord;
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
    s.slots[j] = 0;
    i = j;
  }
}

uint32_t LiveTable::remove(uintptr_t address, Extended* ext) {
  uint64_t h = hash(address);
  Stripe& s = stripe_of(h);
  uint64_t key = address >> 4;
  LockGuard g(s.lock);
  for (uint32_t i = home(s, h); s.slots[i] != 0; i = (i + 1) & s.mask) {
    if ((s.slots[i] >> kRecordBits) != key) continue;
    uint32_t had = static_cast<uint32_t>(s.slots[i] & kRecordMask);
    if (ext && s.ext) *ext = s.ext[i];
    erase_at(s, i);
    return had;
  }
  return kNoRecord;
}

uint64_t LiveTable::live() const {
  uint64_t n = 0;
  for (const Stripe& s : stripes_) n += s.used;
  return n;
}

uint64_t LiveTable::metadata_bytes() const {
  uint64_t n = sizeof(*this);
  for (const Stripe& s : stripes_) n += (uint64_t{s.mask} + 1) * (sizeof(uint64_t) + (s.ext ? sizeof(Extended) : 0));
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
