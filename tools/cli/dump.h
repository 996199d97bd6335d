// A statistics dump as `aixmalloc stats` reads it, whatever its format: AIX's bucket statistics
// summary (MALLOCOPTIONS=bucket_statistics), the status report of AIXMALLOC_STATS (in the layout of
// AIX dbx's `malloc` subcommand), or the JSON
// document of AIXMALLOC_STATS_JSON. Every figure is kept under its key in the JSON schema
// (libmalloc/ reports.h), so the text formats and JSON land in the same place and print the same
// way.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aixmalloc::cli {

// Figures by schema key, in the order they were first read.
struct Figures {
  std::vector<std::pair<std::string, uint64_t>> values;
  void set(std::string_view key, uint64_t v);
  std::optional<uint64_t> get(std::string_view key) const;
  bool empty() const { return values.empty(); }
  void fill_from(const Figures& other);  // adds the keys this one lacks
};

struct Table {  // a section's own figures and its rows ("by_bucket", "by_heap", "by_class")
  Figures figures;
  std::vector<Figures> rows, rows2;
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
  std::vector<Figures> heaps;  // by heap number
  Figures process;             // the status report's process-wide lines (grow_calls)
  std::optional<Figures> large_blocks, totals, threadcache;
  std::optional<Table> buckets;  // figures; rows = by_bucket, rows2 = by_heap
  std::optional<Table> pool;     // figures; rows = by_class
};

// Reads every report in `text` (several formats may share a file). false with *error when nothing
// in it is a statistics dump.
bool parse_dump(std::string_view text, Dump* out, std::string* error);

}  // namespace aixmalloc::cli
