// IBM's tuning advice for AIX malloc, as AIX administrators apply it (spec section 9), one line per
// workload, and the choice of the line that explains a configuration `compare` measured best.
#pragma once

#include "libmalloc/base/config.h"

namespace aixmalloc::cli {

struct Advice {
  const char* workload;  // spec 9, first column
  const char* advice;    // spec 9, second column
};

// The line whose recommendation `c` follows most closely: the most specific one whose policy and
// options `c` has. A tie goes to the line about memory when the configuration won on peak RSS
// (disclaim), to a line about speed otherwise. nullptr when no line fits.
const Advice* advice_for(const Config& c, bool won_on_memory);

}  // namespace aixmalloc::cli
