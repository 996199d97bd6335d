// Malloc Detect's records (malloc_detect.h): the set of live blocks, the record of the blocks freed
// lately, the counters, and their locks at fork. Nothing here allocates through malloc: tables are
// mapped from the system and given back when they grow, the records of frees are static.
//
//   address -> hash h = (address >> 4) * golden ratio
//              stripe = top 4 bits of h;  home slot = the next bits of h
//   Stripe (its own lock, 64-byte aligned)
//     table: open addressing, linear probing, | address | size | per slot, at most half full;
//            a removal shifts the slots after it back (no tombstones), so a lookup stops at the
//            first empty slot
//     freed: a ring of the last kFreedPerStripe blocks freed in the stripe, | address | size |
//
// A stripe's lock is taken only around its own table and ring, never while calling anything that
// takes another lock but the system's memory calls, so it is a leaf but for the fork order.
#include "options/malloc_detect.h"

#include "libmalloc/base/lock.h"
#include "libmalloc/base/os.h"

namespace aixmalloc::detect {
namespace {

struct Slot {
  uintptr_t addr;  // 0: empty
  uint64_t size;
};

constexpr unsigned kFirstBits = 12;  // 4096 slots (64 KiB) when a stripe records its first block
constexpr unsigned kStripeShift = 60;
static_assert(kStripes == 1u << (64 - kStripeShift));

struct alignas(64) Stripe {
  Lock lock;
  Slot* table = nullptr;
  unsigned bits = 0;
  size_t count = 0;
  // When true the stripe lost track (its table could not grow, or a forked child set it aside):
  // it lets every pointer through instead of reporting blocks it does not know.
  bool lost = false;
  unsigned freed_next = 0;
  Slot freed[kFreedPerStripe] = {};
  uint64_t validated = 0;
};

AIXMALLOC_LARGE_TABLE constinit Stripe g_stripes[kStripes];
// Set by the first record: until then reset() has nothing to forget and leaves the 256 KiB of
// stripes untouched, so a process without Malloc Detect never has their pages.
constinit std::atomic<bool> g_recorded{false};
constinit std::atomic<uint64_t> g_double_frees{0}, g_bad_pointers{0}, g_arena_checks{0};

uint64_t hash(uintptr_t a) { return (a >> 4) * 0x9e3779b97f4a7c15ull; }
Stripe& stripe_of(uintptr_t a) { return g_stripes[hash(a) >> kStripeShift]; }
size_t home(uintptr_t a, unsigned bits) { return static_cast<size_t>((hash(a) << (64 - kStripeShift)) >> (64 - bits)); }

// The slot holding a, or the empty slot where it would go. The table is never full.
size_t find_slot(const Stripe& s, uintptr_t a) {
  size_t mask = (size_t{1} << s.bits) - 1;
  size_t i = home(a, s.bits);
  while (s.table[i].addr != 0 && s.table[i].addr != a) i = (i + 1) & mask;
  return i;
}

bool is_live(const Stripe& s, uintptr_t a, size_t* at) {
  if (s.table == nullptr) return false;
  size_t i = find_slot(s, a);
  *at = i;
  return s.table[i].addr == a;
}

size_t table_bytes(unsigned bits) { return align_up(sizeof(Slot) << bits, page_size()); }

// Doubles the table (or makes the first one). False when the system gives no memory.
bool grow(Stripe& s) {
  unsigned bits = s.table ? s.bits + 1 : kFirstBits;
  auto* table = reinterpret_cast<Slot*>(os::map(table_bytes(bits), page_size()));  // zeroed
  if (table == nullptr) return false;
  Slot* old = s.table;
  unsigned old_bits = s.bits;
  s.table = table;
  s.bits = bits;
  if (old) {
    for (size_t i = 0; i < (size_t{1} << old_bits); ++i)
      if (old[i].addr) s.table[find_slot(s, old[i].addr)] = old[i];
    os::release(reinterpret_cast<uintptr_t>(old), table_bytes(old_bits));
  }
  return true;
}

// Backward-shift deletion: each later slot of the run that may move into the hole does.
void erase_at(Stripe& s, size_t hole) {
  size_t mask = (size_t{1} << s.bits) - 1;
  for (size_t j = (hole + 1) & mask; s.table[j].addr != 0; j = (j + 1) & mask) {
    size_t h = home(s.table[j].addr, s.bits);
    // The entry at j may fill the hole when its home is not in (hole, j], cyclically.
    bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
    if (stays) continue;
    s.table[hole] = s.table[j];
    hole = j;
  }
  s.table[hole].addr = 0;
  --s.count;
}

void forget(Stripe& s) {
  if (s.table) os::release(reinterpret_cast<uintptr_t>(s.table), table_bytes(s.bits));
  s.table = nullptr;
  s.bits = 0;
  s.count = 0;
  s.lost = false;
  s.freed_next = 0;
  for (Slot& f : s.freed) f = Slot{};
}

}  // namespace

void insert(const void* p, size_t size) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  if (!g_recorded.load(std::memory_order_relaxed))
    g_recorded.store(true, std::memory_order_relaxed);
  Stripe& s = stripe_of(a);
  LockGuard guard(s.lock);
  size_t capacity = s.table ? size_t{1} << s.bits : 0;
  // Half full: twice the room. Without memory for it, go on until 7/8 full, then stop judging.
  if ((s.count + 1) * 2 > capacity && !grow(s) && (s.count + 1) * 8 > capacity * 7) {
    s.lost = true;
    return;
  }
  size_t i = find_slot(s, a);
  if (s.table[i].addr == 0) ++s.count;
  s.table[i] = Slot{a, size};
}

bool remove(const void* p, size_t* size) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  Stripe& s = stripe_of(a);
  LockGuard guard(s.lock);
  ++s.validated;
  size_t i;
  if (!is_live(s, a, &i)) {
    *size = 0;
    return s.lost;
  }
  *size = s.table[i].size;
  erase_at(s, i);
  s.freed[s.freed_next] = Slot{a, *size};
  s.freed_next = (s.freed_next + 1) % kFreedPerStripe;
  return true;
}

bool contains(const void* p, size_t* size) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  Stripe& s = stripe_of(a);
  LockGuard guard(s.lock);
  ++s.validated;
  size_t i;
  if (!is_live(s, a, &i)) return s.lost;
  if (size) *size = s.table[i].size;
  return true;
}

void reset() {
  if (!g_recorded.load(std::memory_order_relaxed)) return;
  for (Stripe& s : g_stripes) {
    LockGuard guard(s.lock);
    forget(s);
  }
}

Diagnosis diagnose(const void* p, bool owned) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  {
    Stripe& s = stripe_of(a);
    LockGuard guard(s.lock);
    for (const Slot& f : s.freed) {
      if (f.addr == a) {
        g_double_frees.fetch_add(1, std::memory_order_relaxed);
        return {Finding::kDoubleFree, a, f.size};
      }
    }
  }
  g_bad_pointers.fetch_add(1, std::memory_order_relaxed);
  if (!owned) return {Finding::kForeign};
  // The live block that starts closest below p, stripe by stripe.
  Slot best{};
  for (Stripe& s : g_stripes) {
    LockGuard guard(s.lock);
    if (s.table == nullptr) continue;
    for (size_t i = 0; i < (size_t{1} << s.bits); ++i) {
      const Slot& e = s.table[i];
      if (e.addr != 0 && e.addr < a && e.addr > best.addr) best = e;
    }
  }
  size_t extent = align_up(best.size ? best.size : 1, kAlignment);  // at most its usable size
  if (best.addr != 0 && a < best.addr + extent) return {Finding::kInterior, best.addr, best.size};
  return {Finding::kNotABlock};
}

void count_arena_check() { g_arena_checks.fetch_add(1, std::memory_order_relaxed); }

void totals(DetectFigures* out) {
  *out = DetectFigures{};
  for (Stripe& s : g_stripes) {
    LockGuard guard(s.lock);
    out->validated += s.validated;
  }
  out->double_frees = g_double_frees.load(std::memory_order_relaxed);
  out->bad_pointers = g_bad_pointers.load(std::memory_order_relaxed);
  out->arena_checks = g_arena_checks.load(std::memory_order_relaxed);
}

void lock_all() {
  for (Stripe& s : g_stripes) s.lock.lock();
}
void unlock_all() {
  for (unsigned i = kStripes; i-- > 0;) g_stripes[i].lock.unlock();
}
void reset_in_child() {
  for (Stripe& s : g_stripes) s.lock.reset_in_child();
}
// The table of a stripe whose lock was held may be half-way through a growth or a removal: it is
// dropped (its memory left mapped) rather than read.
void set_aside_in_child() {
  for (Stripe& s : g_stripes) {
    if (!s.lock.is_locked()) continue;
    s.table = nullptr;
    s.bits = 0;
    s.count = 0;
    s.lost = true;
    g_recorded.store(true, std::memory_order_relaxed);
    s.lock.reset_in_child();
  }
}

}  // namespace aixmalloc::detect
