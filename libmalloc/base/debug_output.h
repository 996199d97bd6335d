// The output stream of the MALLOCDEBUG tools (output:stdout|stderr|PATH; stderr by default): every
// debug message, report and trace record goes here, each written with one write(2) so that
// messages of different threads never interleave. Where it goes is report_output.h's
// (Report::kDebugOutput): a path may carry %p, a plain path is one process's, and a standard
// stream is the one the process started with. Nothing here allocates or takes a lock: callable
// under any allocator lock and from a signal handler.
#pragma once

#include <cstddef>

#include "libmalloc/base/format.h"

namespace aixmalloc::debug {

// At start-up, from the configuration: whether a non-fatal error (a bad or double free) lets the
// program go on (MALLOCDEBUG=continue). Where messages go is set with report::prepare.
void configure_output(bool continue_after_errors);

// Writes one message, whole.
void emit(const char* s, size_t n);
inline void emit(const Text& t) { emit(t.data(), t.size()); }

// A detected misuse that the program may survive (a bad, foreign or double free): the message is
// written, then the process aborts unless `continue` was set, in which case the call returns and
// the caller drops the request.
void error(const Text& t);
bool continue_after_errors();

// What a layer's reallocate() returns when it dropped the call after error() returned (a bad
// pointer under `continue`): the runtime's realloc then returns NULL with errno EINVAL and moves
// nothing, so the program's pointer is left as it was. No block can have this address.
inline char g_dropped_call;
inline constexpr void* kDropped = &g_dropped_call;

}  // namespace aixmalloc::debug
