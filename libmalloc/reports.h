// Renderers of the reports that combine the layers' figures: AIX's bucket statistics summary and
// the JSON document of every statistic. Part of the assembly (libmalloc/), which includes options/.
#pragma once

#include "libmalloc/base/format.h"
#include "libmalloc/stats.h"
#include "options/buckets.h"
#include "options/pool.h"
#include "options/threadcache.h"

namespace aixmalloc {

// The summary AIX prints at exit for MALLOCOPTIONS=bucket_statistics, with AIX's labels and layout.
void render_buckets(const BucketReport& r, Text& out, int fd);

// One JSON object; sections for the layers that are on (nullptr: off). Schema version 1:
// {"schema":"aixmalloc-stats","schema_version":1,"library_version":..., "policy":..., "options":{...},
//  "heaps":[...], "large_blocks":{...}, "buckets":{...}, "pool":{...}, "threadcache":{...}}
void render_json(const Snapshot& s, const BucketReport* buckets, const pool::Totals* pool,
                 const tcache::Totals* cache, Text& out, int fd);

}  // namespace aixmalloc
