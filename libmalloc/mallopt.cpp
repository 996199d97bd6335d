// mallopt() with AIX's commands and return values (M_MXFAST, M_DISCLAIM, M_MALIGN), glibc's
// accepted without effect; and malloc_trim().
#include "libmalloc/assembly.h"

namespace aixmalloc::rt {

int mallopt(int command, int value) {
  ensure_started();
  switch (command) {
    case 1:  // M_MXFAST: AIX selects the policy with 0 (default) or 1 (3.1), before any allocation
      if (value != 0 && value != 1) return 1;  // glibc's fast-bin size: accepted, no effect
      if (g_stack.any_allocation()) return 1;
      // No block exists yet, so the heap of the old policy holds nothing: replace the stack.
      g_policy = value == 0 ? Policy::kYorktown : sizeof(void*) == 8 ? Policy::kV31_64 : Policy::kV31;
      g_config.policy = g_policy;
      build_stack();
      return 0;
    case 2:  // M_NLBLKS, M_GRAIN, M_KEEP: System V compatibility, no effect
    case 3:
    case 4:
      return 0;
    case 5:  // M_DISCLAIM
      if (value != 0 || g_policy != Policy::kYorktown) return 1;
      trim();
      return 0;
    case 6:  // M_MALIGN
      if (value <= 0 || !is_power_of_two(static_cast<size_t>(value)) ||
          static_cast<size_t>(value) < sizeof(void*))
        return 1;
      g_default_align = static_cast<size_t>(value) < kAlignment ? kAlignment : static_cast<size_t>(value);
      g_stack.set_default_alignment(g_default_align);
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
