// mallopt() with AIX's commands and return values (M_MXFAST, M_DISCLAIM, M_MALIGN), glibc's
// accepted without effect; and malloc_trim().
#include "libmalloc/aixmalloc.h"
#include "libmalloc/assembly.h"
#include "libmalloc/replacement.h"

namespace aixmalloc::rt {
namespace {

// mallopt's commands by AIX's numbers (AIX's <malloc.h>). glibc's <malloc.h> uses some of the same
// names for other things (its M_MXFAST, also 1, sets the largest fast-bin size; its tunables are
// negative numbers), so this file names AIX's commands itself and includes no <malloc.h>.
enum AixMallopt : int {
  kMxfast = AIXMALLOC_M_MXFAST,      // 0: the default policy, 1: the 3.1 policy; before any block
  kNlblks = 2,                       // System V's small-block tuning: accepted, no effect
  kGrain = 3,                        // likewise
  kKeep = 4,                         // likewise
  kDisclaim = AIXMALLOC_M_DISCLAIM,  // 0: give every whole free page back now (default policy only)
  kMalign = AIXMALLOC_M_MALIGN,      // n: every block from now on n-aligned
};

}  // namespace

int mallopt(int command, int value) {
  ensure_started();
  if (replacement::g_on) return replacement::option(command, value);  // MALLOCTYPE=user:
  switch (command) {
    case kMxfast:
      if (value != 0 && value != 1) return 1;  // glibc's fast-bin size: accepted, no effect
      if (g_stack.any_allocation()) return 1;
      // No block exists yet, so the heap of the old policy holds nothing: replace the stack.
      g_policy = value == 0 ? Policy::kYorktown : sizeof(void*) == 8 ? Policy::kV31_64 : Policy::kV31;
      g_config.policy = g_policy;
      build_stack();
      return 0;
    case kNlblks:
    case kGrain:
    case kKeep:
      return 0;
    case kDisclaim:
      if (value != 0 || g_policy != Policy::kYorktown) return 1;
      trim();
      return 0;
    case kMalign:
      if (value <= 0 || !is_power_of_two(static_cast<size_t>(value)) ||
          static_cast<size_t>(value) < sizeof(void*))
        return 1;
      g_default_align = static_cast<size_t>(value) < kAlignment ? kAlignment : static_cast<size_t>(value);
      g_stack.set_default_alignment(g_default_align);
      keep_zero_size_path();
      return 0;
    default:  // glibc's tunables (negative commands): accepted, no effect, glibc's success value
      return 1;
  }
}

bool trim() {
  if (!ready()) return false;
  return g_stack.trim() > 0;
}

}  // namespace aixmalloc::rt
