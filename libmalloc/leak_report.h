// The reports of the Malloc Log's live allocations: AIX's report_allocations text at exit on the
// MALLOCDEBUG output stream, and the JSON leak document (AIXMALLOC_LEAKS_JSON at exit; the live
// request of `aixmalloc leaks --pid`). One walk gathers the sites; each renderer reads them.
#pragma once

namespace aixmalloc::rt {

enum class LeakWhen { kExit, kRequest };

// At exit: the text report when report_allocations is set, the JSON document when
// AIXMALLOC_LEAKS_JSON is. Names frames through the Symbolizer (it may allocate: the log does not
// record what the report itself allocates).
void leak_reports_at_exit();
// True when the Malloc Log is on, so a leak report will be written at exit.
bool leak_reports_wanted();

// The JSON document on request, to `fd`: modules and offsets only (no function names: this runs in
// a signal handler, where the symbolizer's loader lock and allocations are not allowed). With the
// log off, "sites": [] and "log": "off".
void write_leak_document_on_request(int fd);

}  // namespace aixmalloc::rt
