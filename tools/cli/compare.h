// What the two files of `aixmalloc compare` share: the configurations, what each run measured,
// and the plan of the comparison (its baseline and the level of each interval). compare.cpp runs
// the command; compare_report.cpp prints the table, the verdict and the advice.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "libmalloc/base/config.h"
#include "tools/cli/compare_stats.h"
#include "tools/cli/report_sum.h"

namespace aixmalloc::cli {

struct Configuration {
  std::string name;     // as written in the list
  bool glibc = false;   // no preload: the reference
  std::string type;     // MALLOCTYPE; empty: unset
  std::string options;  // MALLOCOPTIONS; empty: unset
  Config parsed;        // what the runtime will make of it
};

struct Measures {
  std::vector<double> seconds;
  std::vector<double> rss_kib;
  std::vector<RunFigures> figures;  // of the runs that wrote documents
  int failures = 0;
  std::set<std::string> diagnostics;  // the runtime's "aixmalloc: " lines
};

struct CompareFlags {
  std::vector<std::string> configs;
  int runs = 0;  // 0: adaptive, between the fewest runs that can separate and max_runs
  int max_runs = 20;
  double budget = 300;       // seconds of measuring after which no round is added
  double confidence = 0.95;  // for all the comparisons with the baseline together
  bool by_rss = false;
  std::string stdin_file = "/dev/null";
};

// Every configuration but glibc and the baseline is compared with the baseline; each interval is
// at level 1 - alpha, alpha being (1 - confidence) shared among those comparisons (Bonferroni).
struct Plan {
  int baseline = -1;  // aixmalloc's default configuration when listed, else the first listed
  int compared = 0;   // configurations compared with it
  double alpha = 0.05;
  int fewest = 4;    // runs each at which an interval exists at that level
  int min_runs = 5;  // adaptive: runs made before stopping is considered
};
Plan plan_for(const std::vector<Configuration>& configs, const CompareFlags& flags);

// The values the verdict is about: wall seconds, or peak RSS with --by rss.
const std::vector<double>& values(const Measures& m, bool by_rss);

// Every comparison with the baseline is settled: its interval lies wholly above or below 1, or
// wholly within 2% of it.
bool settled(const std::vector<Configuration>& configs, const std::vector<Measures>& m,
             const Plan& plan, bool by_rss);

// Why the runs stopped, for the line above the table.
enum class Stop { kFixed, kSettled, kMaxRuns, kBudget };

void print_results(const std::vector<Configuration>& configs, const std::vector<Measures>& m,
                   const CompareFlags& flags, const Plan& plan, int rounds, Stop stop);

// For the recommendation: the variables and the `aixmalloc run` command of a configuration.
std::string variables_text(const Configuration& c);
std::string run_command(const Configuration& c);

}  // namespace aixmalloc::cli
