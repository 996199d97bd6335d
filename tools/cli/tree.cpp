// A process tree's reports, as `aixmalloc stats` and `compare` read them: the files a pattern
// names (the %p of the variables, or the shell's wildcards), and their figures added up into one
// dump, figure by figure as each figure's meaning allows.
#include <glob.h>
#include <string.h>

#include <algorithm>

#include "tools/cli/dump.h"

namespace aixmalloc::cli {

namespace {

// `name` against `pattern`, where %p is one or more digits and every other byte is itself.
bool matches_pid_pattern(std::string_view pattern, std::string_view name) {
  size_t marker = pattern.find("%p");
  if (marker == std::string_view::npos) return pattern == name;
  if (name.substr(0, marker) != pattern.substr(0, marker)) return false;
  std::string_view rest = pattern.substr(marker + 2);
  for (size_t digits = 1; marker + digits <= name.size(); ++digits) {
    char c = name[marker + digits - 1];
    if (c < '0' || c > '9') break;
    if (matches_pid_pattern(rest, name.substr(marker + digits))) return true;
  }
  return false;
}

// How a figure of several processes adds up.
enum class Combine { kSum, kMax, kFirst, kDrop };

Combine combine_of(const FigureInfo& f) {
  if (f.unit == Unit::kIndex) return Combine::kFirst;  // the row's number
  if (f.unit == Unit::kHolder) return Combine::kMax;   // a lock held in any of them
  if (f.unit == Unit::kAddress) return Combine::kDrop;  // an address of one process's space
  // Settings every process of the tree shares: the same in the sum.
  static const FigureInfo* const kSettings[] = {
      &figure_of(&BucketsFigures::count), &figure_of(&BucketsFigures::factor),
      &figure_of(&BucketsFigures::blocks_per_bucket), &figure_of(&BucketSizeFigures::max_size),
      &figure_of(&PoolClassFigures::class_size)};
  if (std::find(std::begin(kSettings), std::end(kSettings), &f) != std::end(kSettings))
    return Combine::kFirst;
  if (&f == &figure_of(&HeapFigures::largest_free)) return Combine::kMax;
  return Combine::kSum;
}

void add_row(const SectionInfo& s, Figures* total, const Figures& row) {
  for (const FigureInfo& f : s.figures()) {
    std::optional<uint64_t> v = row.get(f.key()), t = total->get(f.key());
    if (!v) continue;
    switch (combine_of(f)) {
      case Combine::kSum:
        total->set(f.key(), t.value_or(0) + *v);
        break;
      case Combine::kMax:
        total->set(f.key(), std::max(t.value_or(0), *v));
        break;
      case Combine::kFirst:
        if (!t) total->set(f.key(), *v);
        break;
      case Combine::kDrop:
        break;
    }
  }
}

// The row of `rows` that `row` adds to: the one with the same number (a heap, a bucket), or the
// one at the same place in a table without numbers (the pool's size classes).
Figures* matching_row(const SectionInfo& s, std::vector<Figures>& rows, const Figures& row,
                      size_t position) {
  const FigureInfo& first = *s.figures().begin();
  if (first.unit != Unit::kIndex) {
    if (position >= rows.size()) rows.resize(position + 1);
    return &rows[position];
  }
  std::optional<uint64_t> n = row.get(first.key());
  for (Figures& r : rows)
    if (r.get(first.key()) == n) return &r;
  rows.emplace_back();
  return &rows.back();
}

}  // namespace

std::vector<std::string> report_files(const std::string& arg) {
  bool pid_pattern = arg.find("%p") != std::string::npos;
  if (!pid_pattern && arg.find_first_of("*?[") == std::string::npos) return {arg};
  std::string shell = arg;
  for (size_t at; (at = shell.find("%p")) != std::string::npos;) shell.replace(at, 2, "*");
  glob_t g;
  std::vector<std::string> files;
  if (glob(shell.c_str(), 0, nullptr, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i)
      if (!pid_pattern || matches_pid_pattern(arg, g.gl_pathv[i])) files.push_back(g.gl_pathv[i]);
    globfree(&g);
  }
  return files;
}

Dump sum_dumps(const std::vector<Dump>& dumps) {
  Dump total;
  bool same_configuration = true;
  for (const Dump& d : dumps) {
    for (const std::string& f : d.formats)
      if (std::find(total.formats.begin(), total.formats.end(), f) == total.formats.end())
        total.formats.push_back(f);
    for (const std::string& n : d.notes) total.notes.push_back(n);
    if (&d == &dumps.front()) {
      total.library_version = d.library_version;
      total.policy = d.policy;
      total.options = d.options;
      total.options_complete = d.options_complete;
    } else if (d.policy != total.policy || d.options != total.options) {
      same_configuration = false;
    }
    for (const SectionInfo& s : kSections) {
      const std::vector<Figures>& rows = d.rows(s.id);
      std::vector<Figures>& into = total.rows(s.id);
      for (size_t r = 0; r < rows.size(); ++r) {
        Figures* t = s.repeated() ? matching_row(s, into, rows[r], r)
                                  : (into.empty() ? &into.emplace_back() : &into[0]);
        add_row(s, t, rows[r]);
      }
    }
  }
  // Heaps and buckets in their numbers' order, whichever report had them first.
  for (const SectionInfo& s : kSections) {
    std::string_view index = s.figures().begin()->key();
    if (s.repeated() && s.figures().begin()->unit == Unit::kIndex)
      std::stable_sort(total.rows(s.id).begin(), total.rows(s.id).end(),
                       [&](const Figures& a, const Figures& b) {
                         return a.get(index).value_or(0) < b.get(index).value_or(0);
                       });
  }
  if (!same_configuration)
    total.notes.push_back(
        "the reports were written under different configurations; the first one's is shown");
  return total;
}

}  // namespace aixmalloc::cli
