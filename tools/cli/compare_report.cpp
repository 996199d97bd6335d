// What `aixmalloc compare` prints once the runs are made: the table (medians, and each
// configuration's ratio to the baseline with its interval), the verdict, which never recommends a
// configuration whose interval includes "no difference", and the advice the statistics call for.
#include <math.h>
#include <stdio.h>

#include <algorithm>

#include "tools/cli/advice.h"
#include "tools/cli/cli.h"
#include "tools/cli/compare.h"

namespace aixmalloc::cli {

namespace {

// Differences within this share are not worth more runs: the adaptive runs stop once every
// interval lies within it or away from 1.
constexpr double kNegligible = 0.02;

bool usable(const Measures& m) {
  return !m.seconds.empty() && m.failures == 0;
}

// Columns count characters, not bytes ("–" and "±" are more than one byte of UTF-8).
size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string seconds_text(double s) {
  char buf[32];
  snprintf(buf, sizeof(buf), s < 10 ? "%.3f s" : "%.2f s", s);
  return buf;
}

std::string ratio_text(double r) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.2fx", r);
  return buf;
}

std::string interval_text(const RatioInterval& iv) {
  std::string s = ratio_text(iv.estimate);
  if (iv.bounded) {
    char buf[48];
    snprintf(buf, sizeof(buf), " [%.2f, %.2f]", iv.low, iv.high);
    s += buf;
  }
  return s;
}

// "12% faster", "0.4% faster": the share by which `ratio` (< 1) is below 1.
std::string gain_text(double ratio) {
  char buf[32];
  double p = 100 * (1 - ratio);
  snprintf(buf, sizeof(buf), p < 10 ? "%.1f%%" : "%.0f%%", p);
  return buf;
}

std::string level_text(double alpha) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.4g%%", 100 * (1 - alpha));
  return buf;
}

void print_table(const std::vector<Configuration>& configs, const std::vector<Measures>& m,
                 const Plan& plan, bool by_rss, int recommended) {
  int glibc = -1;
  for (size_t i = 0; i < configs.size(); ++i)
    if (configs[i].glibc && usable(m[i]) && glibc < 0) glibc = static_cast<int>(i);
  bool base_ok = plan.baseline >= 0 && usable(m[plan.baseline]);
  std::string versus = std::string(by_rss ? "RSS vs " : "vs ") +
                       (plan.baseline >= 0 ? configs[plan.baseline].name : "?");
  std::vector<std::string> headers = {"Configuration",    "Wall (median)", versus,
                                      "vs glibc",         "Peak RSS",      "Heap allocs",
                                      "Lock-free allocs", "Acquired",      ""};
  std::vector<bool> shown(headers.size(), true);
  shown[2] = base_ok && plan.compared + (glibc >= 0) > 0;
  shown[3] = glibc >= 0 && !by_rss;
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < configs.size(); ++i) {
    const Measures& x = m[i];
    std::vector<std::string> r = {configs[i].glibc ? configs[i].name + " (reference)"
                                                   : configs[i].name};
    if (x.seconds.empty()) {
      r.insert(r.end(), {"failed", "", "", "", "", "", "", ""});
      rows.push_back(r);
      continue;
    }
    r.push_back(seconds_text(median(x.seconds)));
    if (static_cast<int>(i) == plan.baseline)
      r.push_back("baseline");
    else if (base_ok)
      r.push_back(interval_text(
          ratio_interval(values(x, by_rss), values(m[plan.baseline], by_rss), plan.alpha)));
    else
      r.push_back("");
    r.push_back(glibc >= 0 ? ratio_text(median(x.seconds) / median(m[glibc].seconds)) : "");
    r.push_back(human_bytes(static_cast<uint64_t>(median(x.rss_kib)) * 1024));
    auto fig = [&](uint64_t RunFigures::*f, bool bytes) -> std::string {
      if (x.figures.empty()) return "-";
      std::vector<double> v;
      for (const RunFigures& rf : x.figures) v.push_back(static_cast<double>(rf.*f));
      uint64_t med = static_cast<uint64_t>(median(v));
      return bytes ? human_bytes(med) : with_commas(med);
    };
    r.push_back(fig(&RunFigures::heap_allocs, false));
    r.push_back(fig(&RunFigures::lockfree, false));
    r.push_back(fig(&RunFigures::acquired, true));
    std::string mark = static_cast<int>(i) == recommended ? "recommended" : "";
    if (x.failures)
      mark = std::to_string(x.failures) + " of " +
             std::to_string(x.failures + static_cast<int>(x.seconds.size())) + " runs failed";
    r.push_back(mark);
    rows.push_back(r);
  }
  // The first column left-aligned, the others right-aligned, the marks left-aligned.
  std::vector<size_t> w(headers.size());
  for (size_t c = 0; c < headers.size(); ++c) {
    w[c] = headers[c].size();
    for (const auto& r : rows) w[c] = std::max(w[c], display_width(r[c]));
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t c = 0; c < cells.size(); ++c) {
      if (!shown[c]) continue;
      std::string pad(w[c] - display_width(cells[c]), ' ');
      s += c == 0                  ? cells[c] + pad
           : c + 1 == cells.size() ? "  " + cells[c]
                                   : "  " + pad + cells[c];
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    puts(s.c_str());
  };
  line(headers);
  for (const auto& r : rows) line(r);
}

}  // namespace

Plan plan_for(const std::vector<Configuration>& configs, const CompareFlags& flags) {
  Plan p;
  for (size_t i = 0; i < configs.size() && p.baseline < 0; ++i) {
    const Configuration& c = configs[i];
    if (!c.glibc && c.options.empty() &&
        (c.type.empty() || policy_named(c.type) == Policy::kYorktown))
      p.baseline = static_cast<int>(i);
  }
  for (size_t i = 0; i < configs.size() && p.baseline < 0; ++i)
    if (!configs[i].glibc) p.baseline = static_cast<int>(i);
  for (size_t i = 0; i < configs.size(); ++i)
    p.compared += !configs[i].glibc && static_cast<int>(i) != p.baseline;
  p.alpha = (1 - flags.confidence) / std::max(p.compared, 1);
  p.fewest = fewest_runs(p.alpha);
  p.min_runs = std::min(std::max(p.fewest, 5), flags.max_runs);
  return p;
}

const std::vector<double>& values(const Measures& m, bool by_rss) {
  return by_rss ? m.rss_kib : m.seconds;
}

bool settled(const std::vector<Configuration>& configs, const std::vector<Measures>& m,
             const Plan& plan, bool by_rss) {
  if (plan.baseline < 0 || !usable(m[plan.baseline])) return true;
  for (size_t i = 0; i < configs.size(); ++i) {
    if (configs[i].glibc || static_cast<int>(i) == plan.baseline || !usable(m[i])) continue;
    RatioInterval iv =
        ratio_interval(values(m[i], by_rss), values(m[plan.baseline], by_rss), plan.alpha);
    if (!iv.below_one() && !iv.above_one() && !iv.within(kNegligible)) return false;
  }
  return true;
}

std::string variables_text(const Configuration& c) {
  if (c.glibc) return "no preload";
  std::string s;
  if (!c.type.empty()) s += std::string(spec(Variable::kMallocType).name()) + "=" + c.type;
  if (!c.options.empty())
    s += std::string(s.empty() ? "" : " ") + spec(Variable::kMallocOptions).name() + "=" +
         c.options;
  return s.empty() ? "the default configuration (no variable set)" : s;
}

std::string run_command(const Configuration& c) {
  std::string s = "aixmalloc run";
  if (!c.type.empty()) s += " --type " + c.type;
  if (!c.options.empty()) s += " --options " + c.options;
  return s + " -- CMD";
}

void print_results(const std::vector<Configuration>& configs, const std::vector<Measures>& m,
                   const CompareFlags& flags, const Plan& plan, int rounds, Stop stop) {
  const char* why = stop == Stop::kSettled   ? ", until every comparison was settled"
                    : stop == Stop::kMaxRuns ? ", the most --max-runs allows"
                    : stop == Stop::kBudget  ? ", as many as the --budget allowed"
                                             : "";
  printf("%d run%s of each configuration%s, %s.\n", rounds, rounds == 1 ? "" : "s", why,
         rounds == 1 ? "in a random order" : "each round in a new random order");
  bool base_ok = plan.baseline >= 0 && usable(m[plan.baseline]);
  const char* what = flags.by_rss ? "peak RSS" : "time";
  if (base_ok && plan.compared > 0)
    printf(
        "Each ratio is a configuration's %s over %s's, with its %s interval in brackets%s;\n"
        "allocator figures from AIXMALLOC_STATS_JSON.\n\n",
        what, configs[plan.baseline].name.c_str(), level_text(plan.alpha).c_str(),
        plan.compared == 1 ? ""
                           : (" (" + level_text(1 - flags.confidence) + " for the " +
                              std::to_string(plan.compared) + " comparisons together)")
                                 .c_str());
  else
    puts("Allocator figures from AIXMALLOC_STATS_JSON.\n");

  // Recommended: of the configurations whose whole interval lies below 1 (measurably better than
  // the baseline), the one with the lowest ratio.
  int recommended = -1;
  RatioInterval best_iv;
  for (size_t i = 0; base_ok && i < configs.size(); ++i) {
    if (configs[i].glibc || static_cast<int>(i) == plan.baseline || !usable(m[i])) continue;
    RatioInterval iv = ratio_interval(values(m[i], flags.by_rss),
                                      values(m[plan.baseline], flags.by_rss), plan.alpha);
    if (iv.below_one() && (recommended < 0 || iv.estimate < best_iv.estimate))
      recommended = static_cast<int>(i), best_iv = iv;
  }
  print_table(configs, m, plan, flags.by_rss, recommended);

  const char* faster = flags.by_rss ? "leaner" : "faster";
  if (plan.baseline < 0) {
    puts("\nOnly glibc was measured: nothing to recommend.");
  } else if (!base_ok) {
    printf("\n%s failed, so nothing is compared with it; nothing to recommend.\n",
           configs[plan.baseline].name.c_str());
  } else if (plan.compared == 0) {
    printf("\nOnly %s was measured among aixmalloc's configurations: nothing to recommend.\n",
           configs[plan.baseline].name.c_str());
  } else if (recommended < 0) {
    printf("\nNo configuration is measurably %s than %s on this job", faster,
           configs[plan.baseline].name.c_str());
    if (rounds < plan.fewest)
      printf(": %d run%s of each cannot separate two configurations at %s; it takes %d.\n", rounds,
             rounds == 1 ? "" : "s", level_text(plan.alpha).c_str(), plan.fewest);
    else
      printf(" (no interval lies wholly below 1.00x).\n");
    // Nothing tells the configurations apart here: the one to start from is the policy that needs
    // no tuning, unless the runs found it worse than the baseline.
    for (size_t i = 0; i < configs.size(); ++i) {
      const Configuration& c = configs[i];
      if (c.glibc || c.parsed.policy != Policy::kWatson2 || !usable(m[i])) continue;
      if (static_cast<int>(i) != plan.baseline &&
          ratio_interval(values(m[i], flags.by_rss), values(m[plan.baseline], flags.by_rss), plan.alpha)
              .above_one())
        continue;
      printf("Without a measured difference, start from %s (%s), which tunes itself as the\n"
             "program's threads come and go:\n  %s\n",
             c.name.c_str(), variables_text(c).c_str(), run_command(c).c_str());
      break;
    }
  } else {
    const Configuration& b = configs[recommended];
    printf("\nRecommended: %s (%s): %s %s than %s (%s to %s at %s), %s median.\n", b.name.c_str(),
           variables_text(b).c_str(), gain_text(best_iv.estimate).c_str(), faster,
           configs[plan.baseline].name.c_str(), gain_text(best_iv.high).c_str(),
           gain_text(best_iv.low).c_str(), level_text(plan.alpha).c_str(),
           flags.by_rss
               ? human_bytes(static_cast<uint64_t>(median(m[recommended].rss_kib)) * 1024).c_str()
               : seconds_text(median(m[recommended].seconds)).c_str());
    printf("  %s\n", run_command(b).c_str());
    // The others that the runs cannot tell from it.
    for (size_t i = 0; i < configs.size(); ++i) {
      if (configs[i].glibc || static_cast<int>(i) == recommended || !usable(m[i])) continue;
      RatioInterval iv = ratio_interval(values(m[i], flags.by_rss),
                                        values(m[recommended], flags.by_rss), plan.alpha);
      if (!iv.above_one())
        printf("  As %s within the noise: %s (%s of its %s).\n", flags.by_rss ? "lean" : "fast",
               configs[i].name.c_str(), interval_text(iv).c_str(), what);
    }
  }
  // glibc, the reference: measurably better than what aixmalloc offers here?
  int ours = recommended >= 0 ? recommended : base_ok ? plan.baseline : -1;
  for (size_t i = 0; ours >= 0 && i < configs.size(); ++i) {
    if (!configs[i].glibc || !usable(m[i])) continue;
    RatioInterval iv =
        ratio_interval(values(m[i], flags.by_rss), values(m[ours], flags.by_rss), plan.alpha);
    if (iv.below_one())
      printf("Note: glibc's malloc (no preload) is measurably %s than %s: %s of its %s.\n", faster,
             configs[ours].name.c_str(), interval_text(iv).c_str(), what);
    break;
  }

  std::vector<MeasuredConfig> measured;
  for (size_t i = 0; i < configs.size(); ++i)
    if (!configs[i].glibc && !m[i].figures.empty())
      measured.push_back({configs[i].name, &configs[i].parsed, m[i].figures});
  print_advice(measured, stdout);
}

}  // namespace aixmalloc::cli
