// IBM's tuning advice for AIX malloc (which MALLOCTYPE and MALLOCOPTIONS suit which kind of
// program), given only where the statistics of `compare`'s runs call for it: threads, lock
// contention, request sizes and the memory left free at exit, each line naming its figure.
#pragma once

#include <stdio.h>

#include <string>
#include <vector>

#include "libmalloc/base/config.h"
#include "tools/cli/report_sum.h"

namespace aixmalloc::cli {

// One configuration compare ran, and the figures of each of its runs that wrote documents.
struct MeasuredConfig {
  std::string name;
  const Config* config = nullptr;
  std::vector<RunFigures> runs;
};

// "What the runs' statistics show about the job:", a line per figure that some run measured
// (with the figure's place in the JSON document and the configuration it was read under), then
// "IBM's AIX tuning advice that these figures call for:" and its lines, or that none applies.
void print_advice(const std::vector<MeasuredConfig>& measured, FILE* out);

}  // namespace aixmalloc::cli
