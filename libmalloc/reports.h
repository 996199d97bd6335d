// Renderers of the reports that combine the layers' figures: AIX's bucket statistics summary and
// the JSON document of every statistic. Part of the assembly (libmalloc/), which includes options/.
#pragma once

#include "libmalloc/base/format.h"
#include "libmalloc/stats.h"

namespace aixmalloc {

// AIX's bucket statistics summary, in AIX's labels and layout, from the bucket sections.
void render_buckets(const Statistics& s, Text& out, int fd);

// One JSON object: the configuration, then every section of the table that the snapshot holds
// (a layer that is off has none), under the table's keys. Schema version 1:
// {"schema":"aixmalloc-stats","schema_version":1,"library_version":..., "pid":..., "policy":...,
//  "options":{...}, "heaps":[...], "totals":{...}, "large_blocks":{...},
//  "pool":{..., "by_class":[...]}, "threadcache":{...},
//  "buckets":{..., "by_bucket":[...], "by_heap":[...]}}
void render_json(const Snapshot& s, Text& out, int fd);

}  // namespace aixmalloc
