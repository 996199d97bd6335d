// IBM's tuning advice for AIX malloc (which MALLOCTYPE and MALLOCOPTIONS suit which kind of
// program), as AIX administrators apply it, one line per workload, and the choice of the line that
// explains a configuration `compare` measured best.
#pragma once

#include "libmalloc/base/config.h"

namespace aixmalloc::cli {

struct Advice {
  const char* workload;  // the kind of program, as IBM's advice names it
  const char* advice;    // what the advice recommends for it
};

// The line whose recommendation `c` follows most closely: the most specific one whose policy and
// options `c` has. A tie goes to the line about memory when the configuration won on peak RSS
// (disclaim), to a line about speed otherwise. nullptr when no line fits.
const Advice* advice_for(const Config& c, bool won_on_memory);

}  // namespace aixmalloc::cli
