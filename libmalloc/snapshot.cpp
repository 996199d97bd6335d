// The figures every report starts from: one walk down the configured stack in which each layer
// fills its own part (each lock taken one at a time), plus the runtime's own bootstrap area; and
// check() over every heap.
#include "libmalloc/assembly.h"
#include "libmalloc/base/bootstrap.h"

namespace aixmalloc::rt {

void gather(Figures* f) {
  ensure_started();
  f->snapshot.config = &g_config;
  g_stack.statistics(*f);
  f->snapshot.bootstrap_bytes = bootstrap::used();
  // AIX's bucket statistics count the requests that took a range of their own (4 MiB and more)
  // as the default allocator's, in heap 0's row.
  f->buckets.heaps = f->snapshot.heaps;
  f->buckets.heap_default[0] += f->snapshot.large_allocations;
}

void snapshot(Snapshot* s) {
  Figures f;
  gather(&f);
  *s = f.snapshot;
}

bool check(Text* why) {
  if (!ensure_started()) return true;
  return g_stack.check(why);
}

}  // namespace aixmalloc::rt
