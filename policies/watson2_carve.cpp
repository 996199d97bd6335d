// Watson2's blocks cut from memory (watson2_carve.h): a page's never-used blocks, and the slices of
// the heaps' mixed pages.
#include "policies/watson2_carve.h"

#include <atomic>

#include "libmalloc/base/os.h"
#include "libmalloc/base/platform.h"
#include "policies/watson2_classes.h"
#include "policies/watson2_pages.h"

namespace aixmalloc::watson2 {
namespace {
constexpr size_t kCarveBytes = 4096;  // carved into a list at a time

// Memory of a page that carve() is about to hand out for the first time is faulted in at first
// touch, a system page at a time, as any memory is; for a class that has many blocks out in the
// heap, the memory ahead of what the carve hands out is made resident with one call instead. In
// a virtual machine a fault costs more than zeroing its page (a system page touched at a time: 11
// us; 64 KiB made resident in one call: 6 us a system page). How far ahead: a sixteenth of the
// bytes the class has out, whole system pages, at most kReadyAhead; so a class that stops there
// holds at most that much it has not used, and a class with few blocks out, none. A class that
// reuses freed blocks of its other pages carves its current page only when they have none left,
// and would leave such memory on many pages: it faults its pages in as it uses them.
constexpr uint32_t kReadyAhead = 16384;
// The kernel has MADV_POPULATE_WRITE (Linux 5.14); every heap's carve reads it, the first refusal
// clears it.
std::atomic<bool> g_populate_ok{true};

void make_ready(Page* page, uint32_t end, uint32_t ahead) {
  const uint32_t os_page = static_cast<uint32_t>(page_size());
  uint32_t need = static_cast<uint32_t>(align_up(end, os_page));
  uint32_t to = static_cast<uint32_t>(align_down(end, os_page) + align_down(ahead, os_page));
  if (to <= need) return;  // no more than the carve touches: faulted in as it does
  if (to > kPageSize) to = kPageSize;
  uint32_t from = static_cast<uint32_t>(align_down(page->ready, os_page));
  page->ready = to;
  if (g_populate_ok.load(std::memory_order_relaxed) && !os::populate(pages::address_of(page) + from, to - from))
    g_populate_ok.store(false, std::memory_order_relaxed);
}

// Links n blocks of `size` bytes from `first` into a list, and returns it.
Block* link_blocks(uintptr_t first, uint32_t size, uint32_t n) {
  for (uint32_t i = 0; i + 1 < n; ++i)
    reinterpret_cast<Block*>(first + uintptr_t{i} * size)->next = reinterpret_cast<Block*>(first + uintptr_t{i + 1} * size);
  reinterpret_cast<Block*>(first + uintptr_t{n - 1} * size)->next = nullptr;
  return reinterpret_cast<Block*>(first);
}

}  // namespace

uint32_t ready_ahead(const Heap* h, unsigned c) {
  uint64_t back = h->frees[c] + h->remote_frees[c];
  if (h->allocations[c] <= back) return 0;
  uint64_t bytes = (h->allocations[c] - back) * kSizes[c] / 16;
  return bytes < kReadyAhead ? static_cast<uint32_t>(bytes) : kReadyAhead;
}

// A few blocks at a time, so that a page costs memory only as its blocks are used.
Block* carve(Page* page, uint32_t ahead) {
  uint32_t carved = page->carved;
  uint32_t k = page->capacity - carved;
  uint32_t want = page->size >= kCarveBytes ? 1 : static_cast<uint32_t>(kCarveBytes / page->size);
  if (k > want) k = want;
  if (ahead != 0 && (carved + k) * page->size > page->ready) make_ready(page, (carved + k) * page->size, ahead);
  set_carved(page, carved + k);
  page->held += k;
  return link_blocks(pages::address_of(page) + uintptr_t{carved} * page->size, page->size, k);
}

// A heap's mixed page (watson2_carve.h).
namespace {
// Heap::mixed_class in a slice's further units: kGoesOn | how many units back its first one is.
constexpr uint8_t kGoesOn = 0x80;
static_assert(kMaxSmall >> kUnitShift < kGoesOn, "a slice's last unit says how far back its first is");

uint32_t blocks_in_slice(uint32_t size) { return size >= kSliceBytes ? 1 : kSliceBytes / size; }

// The slice that offset `off` of h's mixed page falls in: its class (kNoClass for none) and the
// offset in it.
unsigned slice_of(const Heap* h, uintptr_t off, uint32_t* in_slice) {
  uintptr_t u = off >> kUnitShift;
  uint8_t k = h->mixed_class[u];
  if (k & kGoesOn) {
    u -= k & (kGoesOn - 1);
    k = h->mixed_class[u];
  }
  *in_slice = static_cast<uint32_t>(off - (u << kUnitShift));
  return k == 0 ? kNoClass : k - 1u;
}

uintptr_t offset_in(const Page* page, const void* p) {
  return reinterpret_cast<uintptr_t>(p) - pages::address_of(page);
}
}  // namespace

void open_mixed(Heap* h, Page* page) {
  page->cls = kMixed;
  page->size = 16;  // block_number(): the offset in 16-byte steps (the Malloc Log's index)
  page->magic = magic_for(16);
  set_carved(page, 0);
  page->capacity = 0;
  __atomic_fetch_sub(&h->pages, 1, __ATOMIC_RELAXED);  // counted by its slices instead
  h->mixed = page;
}

Block* take_slice(Heap* h, unsigned c) {
  uint32_t size = kSizes[c], n = blocks_in_slice(size);
  uint32_t units = static_cast<uint32_t>(align_up(n * size, size_t{1} << kUnitShift) >> kUnitShift);
  if (h->mixed == nullptr || h->mixed_used + units > kMixedUnits) {
    h->mixed_taken[c] = kMixedClassBytes;  // pages of its own from now on
    return nullptr;
  }
  uint32_t u = h->mixed_used;
  h->mixed_used += units;
  h->mixed_class[u] = static_cast<uint8_t>(c + 1);
  for (uint32_t i = 1; i < units; ++i) h->mixed_class[u + i] = static_cast<uint8_t>(kGoesOn | i);
  h->mixed_taken[c] = static_cast<uint16_t>(h->mixed_taken[c] + n * size);
  return link_blocks(pages::address_of(h->mixed) + (uintptr_t{u} << kUnitShift), size, n);
}

namespace {
unsigned mixed_class_of(const Page* page, const void* p) {
  uint32_t r;
  unsigned c = slice_of(page->owner, offset_in(page, p), &r);
  if (c == kNoClass) return kNoClass;
  uint32_t size = kSizes[c];
  return r % size == 0 && r / size < blocks_in_slice(size) ? c : kNoClass;
}
}  // namespace

size_t mixed_usable_size(const Page* page, const void* p) {
  uint32_t r;
  unsigned c = slice_of(page->owner, offset_in(page, p), &r);
  return c == kNoClass ? 0 : kSizes[c];
}

// A freed block of the mixed page goes back on its class's allocation list, where the next
// malloc pops it inline, until the class has had kMixedUses requests in the heap: then the class
// keeps to pages of its own and its blocks here are not used again (4 KiB of a class at most),
// since their frees leave the inline path for release_odd().
namespace {
constexpr uint64_t kMixedUses = 256;
bool keeps_mixed(Heap* h, unsigned c) {
  if (h->allocations[c] <= kMixedUses) return true;
  h->mixed_taken[c] = kMixedClassBytes;
  return false;
}
}  // namespace

// A block of the mixed page, or a pointer to report. The owner's free goes back on the class's
// list; any other thread's onto the page's remote list (release_remote()).
void release_odd(Page* page, void* p, const char* call) {
  unsigned c = page->cls == kMixed ? mixed_class_of(page, p) : kNoClass;
  if (c == kNoClass) return release_bad(p, call, false);
  Heap* h = page->owner;
  auto* b = static_cast<Block*>(p);
  if (static_cast<HeapLists*>(h) != t_heap) return release_remote(page, p);
  if (b == h->alloc[c]) return release_bad(p, call, true);
  ++h->frees[c];
  if (!keeps_mixed(h, c)) return;
  b->next = h->alloc[c];
  h->alloc[c] = b;
}

void take_back_mixed(Heap* h, Page* page, Block* blocks) {
  while (Block* b = blocks) {
    blocks = b->next;
    uint32_t r;
    unsigned c = slice_of(h, offset_in(page, b), &r);
    ++h->remote_frees[c];
    if (!keeps_mixed(h, c)) continue;
    b->next = h->alloc[c];
    h->alloc[c] = b;
  }
}

}  // namespace aixmalloc::watson2
