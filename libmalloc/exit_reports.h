// The JSON document of every statistic, shared by the report at exit (AIXMALLOC_STATS_JSON) and
// the live statistics (AIXMALLOC_STATS_SIGNAL).
#pragma once

#include "libmalloc/base/format.h"

namespace aixmalloc::rt {

// At start-up, once the stack is built: sets up the destination of every report the configuration
// asks for (report_output.h), so a file is claimed before any child starts and a standard stream
// is kept before the program can close it.
void prepare_reports();

// Every statistic as one JSON document, from the same figures as the status report. Takes each
// lock it needs one at a time; allocates nothing.
void render_json_document(Text& out, int fd);

}  // namespace aixmalloc::rt
