// A statistics dump as `aixmalloc stats` reads it, whatever its format: AIX's bucket statistics
// summary, the status report of AIXMALLOC_STATS (dbx's layout) or the JSON document of
// AIXMALLOC_STATS_JSON. Every format is read through the one table of figures
// (libmalloc/base/statistics.def): a figure lands under its section and key whichever format held
// it, so the formats print the same way and can be compared key by key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libmalloc/base/statistics.h"

namespace aixmalloc::cli {

// Figures by key, in the order they were first read.
struct Figures {
  std::vector<std::pair<std::string, uint64_t>> values;
  void set(std::string_view key, uint64_t v);
  std::optional<uint64_t> get(std::string_view key) const;
  template <class S>
  std::optional<uint64_t> get(uint64_t S::*field) const {
    return get(key_of(field));
  }
  bool empty() const { return values.empty(); }
  void fill_from(const Figures& other);  // adds the keys this one lacks
};

struct Dump {
  std::vector<std::string> formats;  // "JSON", "status report", "bucket statistics summary"
  std::vector<std::string> notes;    // e.g. several reports of one kind were found
  std::string library_version;       // JSON only
  std::optional<uint64_t> pid;       // JSON only: the process that wrote it (a live answer has it)
  std::string policy;                // a kPolicies spelling when recognised
  // name -> a JSON literal (true, false, a number). JSON lists every option; the status report
  // only those that are on.
  std::vector<std::pair<std::string, std::string>> options;
  bool options_complete = false;
  // The figures of each section of the table, a row each (one row for a section of one object).
  std::vector<Figures> sections[kSectionCount];

  std::vector<Figures>& rows(SectionId id) { return sections[static_cast<size_t>(id)]; }
  const std::vector<Figures>& rows(SectionId id) const { return sections[static_cast<size_t>(id)]; }
  // A section of one object; nullptr when the dump lacks it.
  const Figures* one(SectionId id) const { return rows(id).empty() ? nullptr : &rows(id)[0]; }
  // As the source of the table's walk (statistics.h).
  unsigned rows(const SectionInfo& s) const { return static_cast<unsigned>(rows(s.id).size()); }
  bool value(const SectionInfo& s, unsigned row, const FigureInfo& f, uint64_t* v) const;
};

// Reads every report in `text` (several formats may share a file). false with *error when nothing
// in it is a statistics dump.
bool parse_dump(std::string_view text, Dump* out, std::string* error);

// "heaps", "pool.by_class": where a section's figures are in the JSON document.
std::string json_path(const SectionInfo& s);

// --- tree.cpp: the reports of a process tree ----------------------------------------------------
// The files `arg` names: itself, or for a pattern every file it matches, in order: %p stands for
// a process ID (one or more digits), *, ? and [...] are the shell's. Empty when none matches.
std::vector<std::string> report_files(const std::string& arg);
// Several processes' figures as one: counts and bytes added (the peaks too: each process's peak,
// summed), heaps, buckets and size classes matched by number, a setting (number_of_buckets, a
// bucket's or class's size) taken once, the largest free block and a lock holder the largest of
// them, the brk addresses left out. A note when the configurations differ.
Dump sum_dumps(const std::vector<Dump>& dumps);

}  // namespace aixmalloc::cli
