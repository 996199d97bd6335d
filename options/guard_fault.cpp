// The fault handler and reports of catch_overflow (guard_fault.h). The handler formats on its own
// stack and writes with one write(2) (debug_output.h); it reads the arena's tables without a lock,
// so it never waits for a lock the faulting thread may hold.
#include "options/guard_fault.h"

#include <cstring>

#include "libmalloc/base/debug_output.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/format.h"
#include "libmalloc/base/os.h"
#include "libmalloc/base/platform.h"

namespace aixmalloc::guard {
namespace {

bool g_installed = false;
bool g_override = false;
// The next handler of SIGSEGV (0) and SIGBUS (1): the one before catch_overflow's, or the one the
// program set since.
AIXMALLOC_COLD struct sigaction g_next[2];

int slot(int sig) { return sig == SIGSEGV ? 0 : sig == SIGBUS ? 1 : -1; }
bool is_handler(const struct sigaction& a) {
  return (a.sa_flags & SA_SIGINFO) ? a.sa_sigaction != nullptr
                                   : a.sa_handler != SIG_DFL && a.sa_handler != SIG_IGN;
}

// The default action for the signal: back to SIG_DFL; a fault then recurs at the same instruction
// when the handler returns, and one sent by kill() is sent again.
void die_by_default(int sig, const siginfo_t* si) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  os::set_signal_action(sig, &dfl, nullptr);
  if (si->si_code <= 0) os::raise_signal(sig);
}

void pass_on(int sig, siginfo_t* si, void* ctx) {
  const struct sigaction& next = g_next[slot(sig)];
  if (!is_handler(next)) return die_by_default(sig, si);
  if (next.sa_flags & SA_SIGINFO) return next.sa_sigaction(sig, si, ctx);
  next.sa_handler(sig);
}

const char* kind_text(Site s, bool write, bool overreading) {
  switch (s) {
    case Site::kPastEnd:
      return write ? "write past the end of a block" : overreading ? "access past the end of a block"
                                                               : "read past the end of a block";
    case Site::kFreed:
      return write ? "write to a freed block (use after free)" : "read of a freed block (use after free)";
    case Site::kUnused:
    case Site::kOutside:
      break;
  }
  return write ? "write to the guard arena outside any block" : "read of the guard arena outside any block";
}

void on_fault(int sig, siginfo_t* si, void* ctx) {
  uintptr_t addr = reinterpret_cast<uintptr_t>(si->si_addr);
  BlockInfo b;
  Site site = si->si_code > 0 ? classify(addr, &b) : Site::kOutside;
  if (site == Site::kOutside) return pass_on(sig, si, ctx);
  bool write = os::fault_was_write(ctx);
  TextBuf<1024> t;
  t.str("aixmalloc: MALLOCDEBUG=catch_overflow: ").str(kind_text(site, write, false))
      .str(sig == SIGSEGV ? " (SIGSEGV)\n" : " (SIGBUS)\n");
  t.str("  fault address   ").hex(addr);
  if (site == Site::kPastEnd) {
    uint64_t past = addr - (b.user + b.size) + 1;
    t.str(", ").num(past).str(past == 1 ? " byte" : " bytes").str(" past the end of the block\n");
  } else if (site == Site::kFreed) {
    if (addr >= b.user && addr < b.user + b.size) t.str(", at offset ").num(addr - b.user).str(" of the block\n");
    else t.str(", in the pages of the block\n");
  } else {
    t.ch('\n');
  }
  if (site == Site::kPastEnd || site == Site::kFreed) {
    t.str("  block           ").hex(b.user).str(", ").num(b.size).str(b.size == 1 ? " byte, " : " bytes, ")
        .str(b.live ? "allocated by thread " : "freed by thread ").num(static_cast<uint64_t>(b.thread)).ch('\n');
  }
  t.str("  thread          ").num(static_cast<uint64_t>(os::thread_id())).ch('\n');
  bool program_handler = is_handler(g_next[slot(sig)]);
  if (program_handler && !g_override) {
    t.str("  the program's own handler of the signal runs next (MALLOCDEBUG=override_signal_handling "
          "keeps it from seeing such faults)\n");
    debug::emit(t);
    return pass_on(sig, si, ctx);
  }
  t.str("  the signal takes its default action at the faulting instruction (a core file, if enabled, "
        "shows it)\n");
  debug::emit(t);
  die_by_default(sig, si);
}

}  // namespace

void install_fault_handler(bool override_program_handlers) {
  g_override = override_program_handlers;
  if (g_installed) return;
  struct sigaction before[2];
  if (!os::catch_fault_signal(SIGSEGV, on_fault, &before[0]) ||
      !os::catch_fault_signal(SIGBUS, on_fault, &before[1])) {
    static const char kNo[] = "MALLOCDEBUG: catch_overflow: cannot install the SIGSEGV handler; faults are not explained";
    warn(kNo, sizeof(kNo) - 1);
    return;
  }
  g_next[0] = before[0];
  g_next[1] = before[1];
  g_installed = true;
}

int program_sigaction(int sig, const struct sigaction* act, struct sigaction* old) {
  int s = slot(sig);
  if (!g_installed || s < 0) return os::set_signal_action(sig, act, old);
  struct sigaction previous = g_next[s];
  if (act) g_next[s] = *act;
  if (old) *old = previous;
  return 0;
}

void report_bad_free(const char* call, const void* p, Verdict v, const BlockInfo& b) {
  count_misuse();
  TextBuf<512> t;
  t.str("aixmalloc: MALLOCDEBUG: ").str(call).str("(): ");
  switch (v) {
    case Verdict::kDoubleFree:
      t.str("double free of ").ptr(p).str(" (").num(b.size).str(" bytes, freed by thread ")
          .num(static_cast<uint64_t>(b.thread)).str(")\n");
      break;
    case Verdict::kInterior:
      t.str("invalid pointer ").ptr(p).str(": ").num(reinterpret_cast<uintptr_t>(p) - b.user)
          .str(" bytes into the block ").hex(b.user).str(" of ").num(b.size).str(" bytes\n");
      break;
    case Verdict::kNotABlock:
    case Verdict::kLive:
      t.str("invalid pointer ").ptr(p).str(": not the start of an allocated block\n");
      break;
  }
  t.str("  thread          ").num(static_cast<uint64_t>(os::thread_id())).ch('\n');
  if (debug::continue_after_errors()) t.str("  MALLOCDEBUG=continue: the call is ignored and the program goes on\n");
  debug::error(t);
}

}  // namespace aixmalloc::guard
