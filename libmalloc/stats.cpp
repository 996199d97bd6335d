// The renderers that work from a Snapshot (stats.h): the dbx-style status report of
// AIXMALLOC_STATS, glibc's malloc_stats() and malloc_info(); and the totals every report shares.
#include "libmalloc/stats.h"

namespace aixmalloc {

uint64_t Snapshot::acquired() const {
  uint64_t sum = large_bytes + large_cached_bytes + pool_bytes;
  for (unsigned i = 0; i < heaps; ++i) sum += heap[i].acquired;
  return sum;
}

uint64_t Snapshot::free_bytes() const {
  uint64_t sum = cached_bytes + large_cached_bytes + (pool_bytes - pool_in_use);
  for (unsigned i = 0; i < heaps; ++i) sum += heap[i].free_bytes;
  return sum;
}

namespace {

// "\t\tlabel........ value" with the dots filling to AIX's column.
void dotted(Text& out, const char* label, uint64_t value) {
  out.str("                ").str(label).str("..");
  out.pad_to(50, '.');
  out.ch(' ').num(value).ch('\n');
}

void flush_if_full(Text& out, int fd) {
  if (out.size() > 3000) out.flush(fd);
}

}  // namespace

void render_status(const Snapshot& s, Text& out, int fd) {
  const Config& c = *s.config;
  out.str("The following options are enabled:\n");
  out.str("        Implementation Algorithm........ ");
  switch (c.policy) {
    case Policy::kYorktown:
      out.str("Default Allocator (Yorktown)");
      break;
    case Policy::kWatson:
      out.str("Watson Allocator");
      break;
    case Policy::kV31:
    case Policy::kV31_64:
      out.str("3.1 Allocator (").str(spec(c.policy).spelling).ch(')');
      break;
    default:
      out.str(spec(c.policy).spelling);
      break;
  }
  out.ch('\n');
  for (size_t i = 0; i < kOptionCount; ++i) {
    if (!c.options[i].on) continue;
    out.str("        ").str(kOptions[i].name);
    bool numbered = kOptions[i].arg == kOptNumber || kOptions[i].arg == kNumber;
    if (numbered && c.options[i].number != 0) out.ch(':').num(c.options[i].number);  // pool:0 = no cap
    if (c.options[i].origin == Origin::kDefault) out.str(" (default for this policy)");
    out.ch('\n');
  }
  out.str("Statistical Report on the Malloc Subsystem:\n");
  for (unsigned i = 0; i < s.heaps; ++i) {
    const HeapSnapshot& h = s.heap[i];
    out.str("        Heap ").num(h.index).ch('\n');
    out.str("                heap lock held by................ ")
        .str(h.locked ? "another thread" : "(not held)").ch('\n');
    dotted(out, "bytes acquired from sbrk()", h.acquired);
    dotted(out, "bytes in the freespace tree", h.free_bytes);
    dotted(out, "bytes held by the user", h.acquired - h.free_bytes);
    dotted(out, "allocations currently active", h.counters.allocations - h.counters.frees);
    dotted(out, "allocations since process start", h.counters.allocations);
    dotted(out, "free blocks in the freespace tree", h.free_blocks);
    dotted(out, "largest free block", h.largest_free);
    flush_if_full(out, fd);
  }
  out.str("        The Process Heap\n");
  unsigned calls = 0;
  for (unsigned i = 0; i < s.heaps; ++i) calls += s.heap[i].grow_calls;
  dotted(out, "sbrk()s called by malloc", calls);
  out.str("        Blocks with their own address range\n");
  dotted(out, "blocks currently mapped", s.large_blocks);
  dotted(out, "bytes currently mapped", s.large_bytes);
  dotted(out, "most bytes mapped at once", s.large_max_bytes);
  dotted(out, "allocations since process start", s.large_allocations);
  dotted(out, "freed bytes kept for reuse", s.large_cached_bytes);
  dotted(out, "allocations served from them", s.large_cache_hits);
  out.flush(fd);
}

void render_malloc_stats(const Snapshot& s, Text& out, int fd) {
  auto line = [&](const char* label, uint64_t v) {
    out.str(label).pad_to(17).str("= ").num(v, 10).ch('\n');
  };
  uint64_t system = 0, in_use = 0;
  for (unsigned i = 0; i < s.heaps; ++i) {
    const HeapSnapshot& h = s.heap[i];
    out.str("Arena ").num(h.index).str(":\n");
    line("system bytes", h.acquired);
    line("in use bytes", h.acquired - h.free_bytes);
    system += h.acquired;
    in_use += h.acquired - h.free_bytes;
    flush_if_full(out, fd);
  }
  out.str("Total (incl. mmap):\n");
  line("system bytes", system + s.large_bytes);
  line("in use bytes", in_use + s.large_bytes);
  line("max mmap regions", s.large_max_blocks);
  line("max mmap bytes", s.large_max_bytes);
  out.flush(fd);
}

void render_malloc_info(const Snapshot& s, Text& out) {
  auto total = [&](const char* type, uint64_t count, uint64_t size) {
    out.str("<total type=\"").str(type).str("\" count=\"").num(count).str("\" size=\"").num(size)
        .str("\"/>\n");
  };
  auto system = [&](const char* tag, const char* type, uint64_t size) {
    out.ch('<').str(tag).str(" type=\"").str(type).str("\" size=\"").num(size).str("\"/>\n");
  };
  out.str("<malloc version=\"1\">\n");
  for (unsigned i = 0; i < s.heaps; ++i) {
    const HeapSnapshot& h = s.heap[i];
    out.str("<heap nr=\"").num(h.index).str("\">\n<sizes>\n</sizes>\n");
    total("fast", 0, 0);
    total("rest", h.free_blocks, h.free_bytes);
    system("system", "current", h.acquired);
    system("system", "max", h.acquired);
    system("aspace", "total", h.acquired);
    system("aspace", "mprotect", h.acquired);
    out.str("</heap>\n");
  }
  uint64_t blocks = 0;
  for (unsigned i = 0; i < s.heaps; ++i) blocks += s.heap[i].free_blocks;
  total("fast", 0, 0);
  total("rest", blocks, s.free_bytes());
  total("mmap", s.large_blocks, s.large_bytes);
  system("system", "current", s.acquired());
  system("system", "max", s.acquired());
  system("aspace", "total", s.acquired());
  system("aspace", "mprotect", s.acquired());
  out.str("</malloc>\n");
}

}  // namespace aixmalloc
