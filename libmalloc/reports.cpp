// The renderers of reports.h: AIX's bucket statistics summary and the JSON document, formatted
// into a stack buffer and written with write(2) as it fills.
#include "libmalloc/reports.h"

#include "aixmalloc_version.h"
#include "libmalloc/base/os.h"
#include "libmalloc/base/platform.h"

namespace aixmalloc {

namespace {

void flush_if_full(Text& out, int fd) {
  if (out.size() > 3000) out.flush(fd);
}

// A JSON writer over Text: keys are plain ASCII, numbers unsigned, strings from our own tables.
class Json {
 public:
  Json(Text& out, int fd) : out_(out), fd_(fd) {}
  Json& open(const char* key, char brace) {
    sep();
    if (key) out_.ch('"').str(key).str("\":");
    out_.ch(brace);
    first_ = true;
    return *this;
  }
  Json& close(char brace) {
    out_.ch(brace);
    first_ = false;
    flush_if_full(out_, fd_);
    return *this;
  }
  Json& num(const char* key, uint64_t v) {
    sep();
    out_.ch('"').str(key).str("\":").num(v);
    return *this;
  }
  Json& str(const char* key, const char* v) {
    sep();
    out_.ch('"').str(key).str("\":\"").str(v).ch('"');
    return *this;
  }
  Json& boolean(const char* key, bool v) {
    sep();
    out_.ch('"').str(key).str("\":").str(v ? "true" : "false");
    return *this;
  }

 private:
  void sep() {
    if (!first_) out_.ch(',');
    first_ = false;
  }
  Text& out_;
  int fd_;
  bool first_ = true;
};

}  // namespace

void render_buckets(const BucketReport& r, Text& out, int fd) {
  auto value = [&](const char* label, uint64_t v) { out.str(label).pad_to(28).num(v).ch('\n'); };
  out.str("==================================\n");
  out.str("Malloc buckets statistical summary\n");
  out.str("==================================\n");
  out.str("Configuration values:\n");
  value("  Number of buckets:", r.count);
  value("  Bucket sizing factor:", r.factor);
  value("  Blocks per bucket:", r.blocks_per_bucket);
  out.str("Allocation request totals:\n");
  value("  Buckets allocator:", r.in_buckets());
  value("  Default allocator:", r.in_default());
  value("  Total for process:", r.in_buckets() + r.in_default());
  out.str("Allocation requests by bucket\n");
  out.str("Bucket  Maximum     Number of\n");
  out.str("Number  Block Size  Allocations\n");
  out.str("-----   ----------  -----------\n");
  for (unsigned b = 0; b < r.count; ++b) {
    out.num(b, 5).num(uint64_t{b + 1} * r.factor, 13).num(r.per_bucket[b], 13).ch('\n');
    flush_if_full(out, fd);
  }
  out.str("Allocation requests by heap\n");
  out.str("Heap    Buckets      Default\n");
  out.str("Number  Allocator    Allocator\n");
  out.str("-----   -----------  -----------\n");
  for (unsigned i = 0; i < r.heaps; ++i) {
    out.num(i, 5).num(r.heap_buckets[i], 13).num(r.heap_default[i], 13).ch('\n');
    flush_if_full(out, fd);
  }
  out.flush(fd);
}

void render_json(const Snapshot& s, const BucketReport* buckets, const pool::Totals* pool,
                 const tcache::Totals* cache, Text& out, int fd) {
  const Config& c = *s.config;
  Json j(out, fd);
  j.open(nullptr, '{');
  j.str("schema", "aixmalloc-stats").num("schema_version", 1).str("library_version", AIXMALLOC_VERSION);
  j.num("pid", static_cast<uint64_t>(os::process_id()));
  j.str("policy", spec(c.policy).spelling);
  j.open("options", '{');
  for (size_t i = 0; i < kOptionCount; ++i) {
    const OptionValue& v = c.options[i];
    if (kOptions[i].arg == kFlag || kOptions[i].arg == kOff || kOptions[i].arg == kDest) {
      j.boolean(kOptions[i].name, v.on);
    } else if (kOptions[i].arg == kOptNumber && !v.on) {
      j.boolean(kOptions[i].name, false);
    } else {
      j.num(kOptions[i].name, v.number);
    }
  }
  j.close('}');
  j.open("heaps", '[');
  for (unsigned i = 0; i < s.heaps; ++i) {
    const HeapSnapshot& h = s.heap[i];
    j.open(nullptr, '{')
        .num("heap", h.index)
        .num("bytes_acquired", h.acquired)
        .num("bytes_free", h.free_bytes)
        .num("bytes_held", h.acquired - h.free_bytes)
        .num("free_blocks", h.free_blocks)
        .num("largest_free", h.largest_free)
        .num("allocations_since_start", h.counters.allocations)
        .num("allocations_active", h.counters.allocations - h.counters.frees)
        .num("reallocations", h.counters.reallocs)
        .num("failed_requests", h.counters.failures)
        .num("grow_calls", h.grow_calls)
        .close('}');
  }
  j.close(']');
  j.open("large_blocks", '{')
      .num("blocks", s.large_blocks)
      .num("bytes", s.large_bytes)
      .num("most_bytes", s.large_max_bytes)
      .num("allocations_since_start", s.large_allocations)
      .num("cached_bytes", s.large_cached_bytes)
      .num("cache_hits", s.large_cache_hits)
      .close('}');
  j.open("totals", '{')
      .num("bytes_acquired", s.acquired())
      .num("bytes_in_use", s.in_use())
      .num("bytes_free", s.free_bytes())
      .close('}');
  if (buckets) {
    const BucketReport& r = *buckets;
    j.open("buckets", '{')
        .num("number_of_buckets", r.count)
        .num("bucket_sizing_factor", r.factor)
        .num("blocks_per_bucket", r.blocks_per_bucket)
        .num("buckets_allocator", r.in_buckets())
        .num("default_allocator", r.in_default())
        .num("total_for_process", r.in_buckets() + r.in_default());
    j.open("by_bucket", '[');
    for (unsigned b = 0; b < r.count; ++b)
      j.open(nullptr, '{')
          .num("bucket", b)
          .num("maximum_block_size", uint64_t{b + 1} * r.factor)
          .num("allocations", r.per_bucket[b])
          .close('}');
    j.close(']');
    j.open("by_heap", '[');
    for (unsigned i = 0; i < r.heaps; ++i)
      j.open(nullptr, '{')
          .num("heap", i)
          .num("buckets_allocator", r.heap_buckets[i])
          .num("default_allocator", r.heap_default[i])
          .close('}');
    j.close(']');
    j.close('}');
  }
  if (pool) {
    j.open("pool", '{')
        .num("thread_pools", pool->pools)
        .num("orphaned_pools", pool->orphans)
        .num("bytes_in_pages", pool->bytes_reserved)
        .num("spare_pages", pool->spare_pages)
        .num("pages_recycled", pool->pages_recycled)
        .num("bytes_in_use", pool->bytes_in_use);
    j.open("by_class", '[');
    for (unsigned c = 0; c < pool::kClasses; ++c)
      j.open(nullptr, '{')
          .num("class_size", pool::kClassSize[c])
          .num("allocations", pool->cls[c].allocations)
          .num("frees", pool->cls[c].frees)
          .num("remote_frees", pool->cls[c].remote_frees)
          .close('}');
    j.close(']');
    j.close('}');
  }
  if (cache) {
    j.open("threadcache", '{')
        .num("caches", cache->caches)
        .num("blocks_cached", cache->blocks)
        .num("bytes_cached", cache->bytes)
        .num("requests_served", cache->hits)
        .num("batches_taken", cache->refills)
        .num("batches_given_back", cache->flushes)
        .num("bytes_in_depots", cache->depot_bytes)
        .close('}');
  }
  j.close('}');
  out.ch('\n').flush(fd);
}

}  // namespace aixmalloc
