// The bootstrap area (bootstrap.h): one static granule, entered in the address map on first use,
// bump-allocated under its own lock while the runtime starts; nothing in it is ever reused.
#include "libmalloc/base/bootstrap.h"

#include "libmalloc/base/block.h"
#include "libmalloc/base/lock.h"
#include "libmalloc/base/platform.h"

namespace aixmalloc::bootstrap {
namespace {

// Two granules, of which the granule-aligned one inside is the area. A granule's alignment on the
// object itself would give .bss a LOAD segment of its own, aligned to 64 KiB and starting at file
// offset 0, where valgrind cannot place the library's sections (it then shows none of its
// symbols). The part left over is never touched, so it takes no memory.
AIXMALLOC_LARGE_TABLE alignas(4096) char g_raw[2 * kGranule];
constexpr size_t kAreaSize = kGranule;
char* area() { return reinterpret_cast<char*>(align_up(reinterpret_cast<uintptr_t>(g_raw), kGranule)); }
constinit Lock g_lock;
size_t g_used = 0;
bool g_registered = false;

}  // namespace

void* allocate(size_t size, size_t align) {
  LockGuard guard(g_lock);
  uintptr_t base = reinterpret_cast<uintptr_t>(area());
  if (!g_registered) {
    address_map().assign(base, kAreaSize, Owner::make(OwnerKind::kBootstrap, area()));
    g_registered = true;
  }
  if (align < kAlignment) align = kAlignment;
  uintptr_t user = align_up(base + g_used + kHeaderSize, align);
  size_t end = user - base + align_up(size, kAlignment);
  if (size > kAreaSize || end > kAreaSize) return nullptr;
  BlockHeader* h = BlockHeader::of(reinterpret_cast<void*>(user));
  h->size_flags = (align_up(size, kAlignment) + kHeaderSize) | kInUse;
  h->check = 0;
  g_used = end;
  return reinterpret_cast<void*>(user);
}

size_t usable_size(void* p) { return BlockHeader::of(p)->size() - kHeaderSize; }

size_t used() { return g_used; }

void reset_in_child() { g_lock.reset_in_child(); }

}  // namespace aixmalloc::bootstrap
