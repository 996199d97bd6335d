// catch_overflow's reports: the SIGSEGV/SIGBUS handler that turns a fault in the guard arena into a
// report naming the block (then lets the signal kill the process at the faulting instruction, as
// AIX's SIGSEGV does, so a core file or a debugger shows it), and the report of a bad free of a
// guarded block. With override_signal_handling the program's own handlers for those signals never
// see a fault that catch_overflow detected; without it they do, after the report.
#pragma once

#include <signal.h>

#include <cstddef>

#include "options/guard_arena.h"

namespace aixmalloc::guard {

// Installs the handler (once); the program's handlers installed before are kept as the next ones.
void install_fault_handler(bool override_program_handlers);

// The exported sigaction() and signal() pass through here: while the handler is installed, a
// program's SIGSEGV or SIGBUS handler is recorded as the next handler (and reported back as the
// current one) instead of replacing catch_overflow's. Other signals go to the system.
int program_sigaction(int sig, const struct sigaction* act, struct sigaction* old);

// A free() or realloc() of a pointer in the guard arena that is not a live block's start: the
// report, then abort unless MALLOCDEBUG=continue.
void report_bad_free(const char* call, const void* p, Verdict v, const BlockInfo& b);

}  // namespace aixmalloc::guard
