// The bootstrap area (bootstrap.h): one static granule, entered in the address map on first use,
// bump-allocated under its own lock while the runtime starts; nothing in it is ever reused.
#include "libmalloc/base/bootstrap.h"

#include "libmalloc/base/block.h"
#include "libmalloc/base/lock.h"
#include "libmalloc/base/platform.h"

namespace aixmalloc::bootstrap {
namespace {

alignas(kGranule) char g_area[kGranule];
constinit Lock g_lock;
size_t g_used = 0;
bool g_registered = false;

}  // namespace

void* allocate(size_t size, size_t align) {
  LockGuard guard(g_lock);
  uintptr_t base = reinterpret_cast<uintptr_t>(g_area);
  if (!g_registered) {
    address_map().assign(base, sizeof(g_area), Owner::make(OwnerKind::kBootstrap, g_area));
    g_registered = true;
  }
  if (align < kAlignment) align = kAlignment;
  uintptr_t user = align_up(base + g_used + kHeaderSize, align);
  size_t end = user - base + align_up(size, kAlignment);
  if (size > sizeof(g_area) || end > sizeof(g_area)) return nullptr;
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
