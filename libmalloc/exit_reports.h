// The JSON document of every statistic, shared by the report at exit (AIXMALLOC_STATS_JSON) and
// the live statistics (AIXMALLOC_STATS_SIGNAL).
#pragma once

#include "libmalloc/base/format.h"

namespace aixmalloc::rt {

// Every statistic as one JSON document, from the same figures as the status report. Takes each
// lock it needs one at a time; allocates nothing.
void render_json_document(Text& out, int fd);

}  // namespace aixmalloc::rt
