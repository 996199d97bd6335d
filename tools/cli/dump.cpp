// Reading statistics dumps (see dump.h). The text formats are read by their structure (headings,
// labels, rows of numbers), each matched against the table of figures, not by column positions, so
// AIX's own reports, whose spacing differs, read the same way. Unknown lines inside a report are
// skipped; a report ends at the first line that belongs to none of its parts.
#include "tools/cli/dump.h"

#include <stdlib.h>
#include <string.h>

#include <algorithm>

#include "libmalloc/base/config.h"
#include "libmalloc/stats.h"
#include "tools/cli/cli.h"
#include "tools/cli/json.h"

namespace aixmalloc::cli {

void Figures::set(std::string_view key, uint64_t v) {
  for (auto& [k, value] : values)
    if (k == key) {
      value = v;
      return;
    }
  values.emplace_back(std::string(key), v);
}

std::optional<uint64_t> Figures::get(std::string_view key) const {
  for (const auto& [k, value] : values)
    if (k == key) return value;
  return std::nullopt;
}

void Figures::fill_from(const Figures& other) {
  for (const auto& [k, value] : other.values)
    if (!get(k)) values.emplace_back(k, value);
}

bool Dump::value(const SectionInfo& s, unsigned row, const FigureInfo& f, uint64_t* v) const {
  std::optional<uint64_t> got = rows(s.id)[row].get(f.key());
  if (got) *v = *got;
  return got.has_value();
}

std::string json_path(const SectionInfo& s) {
  return s.nested() ? json_path(section(s.parent)) + "." + s.json() : s.json();
}

namespace {

constexpr const char* kStatusStart = "The following options are enabled:";
constexpr const char* kStatusReport = "Statistical Report on the Malloc Subsystem:";
constexpr const char* kBucketsTitle = "Malloc buckets statistical summary";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

size_t indent_of(std::string_view line) {
  size_t col = 0;
  for (char c : line) {
    if (c == ' ')
      ++col;
    else if (c == '\t')
      col = (col / 8 + 1) * 8;
    else
      break;
  }
  return col;
}

// The unsigned number at the start of s (after blanks); `rest` gets what follows it.
std::optional<uint64_t> leading_number(std::string_view s, std::string_view* rest = nullptr) {
  s = trim(s);
  size_t n = 0;
  uint64_t v = 0;
  while (n < s.size() && s[n] >= '0' && s[n] <= '9') {
    if (v > (UINT64_MAX - 9) / 10) return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(s[n++] - '0');
  }
  if (n == 0) return std::nullopt;
  if (rest) *rest = s.substr(n);
  return v;
}

// A line made of unsigned numbers only; empty when anything else is on it.
std::vector<uint64_t> numbers_only(std::string_view line) {
  std::vector<uint64_t> out;
  std::string_view rest = trim(line);
  while (!rest.empty()) {
    std::string_view after;
    auto v = leading_number(rest, &after);
    if (!v || (!after.empty() && after[0] != ' ' && after[0] != '\t')) return {};
    out.push_back(*v);
    rest = trim(after);
  }
  return out;
}

// "label......... value": the dots are the separator (AIX's layout).
bool dotted(std::string_view line, std::string_view* label, std::string_view* value) {
  size_t dots = line.find("..");
  if (dots == std::string_view::npos) return false;
  *label = trim(line.substr(0, dots));
  size_t after = dots;
  while (after < line.size() && line[after] == '.') ++after;
  *value = trim(line.substr(after));
  return !label->empty();
}

// The figure of section s that a report labels `label`.
const FigureInfo* labelled(const SectionInfo& s, std::string_view label) {
  for (const FigureInfo& f : s.figures())
    if (label == f.label()) return &f;
  return nullptr;
}

// A row of a table: its numbers, in the order of the section's figures.
void add_row(Dump* d, const SectionInfo& table, const std::vector<uint64_t>& numbers) {
  Figures row;
  const FigureInfo* f = table.figures().begin();
  for (size_t i = 0; i < numbers.size() && f != table.figures().end(); ++i, ++f)
    row.set(f->key(), numbers[i]);
  d->rows(table.id).push_back(row);
}

// The status report's line for the heaps it left out ("Heaps never used (every figure 0): 1-4,
// 6-31"): a row of zeros each, numbered, in `s` (the heaps, or the buckets' split by heap).
void add_unused_heaps(Dump* d, const SectionInfo& s, std::string_view ranges) {
  while (!ranges.empty()) {
    std::string_view part = trim(ranges.substr(0, ranges.find(',')));
    ranges = ranges.find(',') == std::string_view::npos ? "" : ranges.substr(ranges.find(',') + 1);
    std::string_view rest;
    std::optional<uint64_t> first = leading_number(part, &rest), last = first;
    if (!first) continue;
    if (!rest.empty() && rest[0] == '-') last = leading_number(rest.substr(1));
    for (uint64_t h = *first; last && h <= *last && h < kMaxHeaps; ++h) {
      Figures row;
      for (const FigureInfo& f : s.figures()) row.set(f.key(), f.unit == Unit::kIndex ? h : 0);
      d->rows(s.id).push_back(row);
    }
  }
  // In the heaps' order, as the JSON document has them.
  std::string_view index = s.figures().begin()->key();
  std::stable_sort(d->rows(s.id).begin(), d->rows(s.id).end(),
                   [&](const Figures& a, const Figures& b) {
                     return a.get(index).value_or(0) < b.get(index).value_or(0);
                   });
}

// The nested section of s that a report titles `title`.
const SectionInfo* table_titled(const SectionInfo& s, std::string_view title) {
  for (const SectionInfo& t : kSections)
    if (t.parent == s.id && title == t.title()) return &t;
  return nullptr;
}

std::string policy_from_algorithm(std::string_view text) {
  // "Default Allocator (Yorktown)", "3.1 Allocator (3.1_64BIT)": the spelling in parentheses.
  size_t open = text.rfind('('), close = text.rfind(')');
  if (open != std::string_view::npos && close > open)
    if (auto p = policy_named(text.substr(open + 1, close - open - 1))) return spec(*p).spelling();
  std::string_view first = text.substr(0, text.find(' '));
  if (auto p = policy_named(first)) return spec(*p).spelling();  // "Watson Allocator"
  if (first == "Default") return spec(Policy::kYorktown).spelling();
  return std::string(text);
}

struct Lines {
  std::vector<std::string_view> text;
  std::vector<size_t> offset;
};

Lines split(std::string_view s) {
  Lines l;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find('\n', start);
    if (end == std::string_view::npos) end = s.size();
    l.text.push_back(s.substr(start, end - start));
    l.offset.push_back(start);
    start = end + 1;
  }
  return l;
}

// A heading of the status report: a top-level section's title, followed by the row's number for
// a repeated one ("Heap 3"). *index gets that number.
const SectionInfo* heading(std::string_view line, uint64_t* index) {
  for (const SectionInfo& s : kSections) {
    if (s.nested()) continue;
    std::string_view title = s.title();
    if (!s.repeated() && line == title) return &s;
    if (s.repeated() && starts_with(line, title) && line.size() > title.size() &&
        line[title.size()] == ' ')
      if (std::optional<uint64_t> n = leading_number(line.substr(title.size()))) {
        *index = *n;
        return &s;
      }
  }
  return nullptr;
}

// Who holds a lock, as dbx says it ("pthread ID 0x20023358") or we do ("(not held)"): 0 for
// nobody, a number as written, 1 for anybody else.
uint64_t holder(std::string_view value) {
  if (std::optional<uint64_t> n = leading_number(value)) return *n;
  return value.empty() || value == "(not held)" ? 0 : 1;
}

// The status report from line i; returns the first line after it.
size_t parse_status(const Lines& lines, size_t i, Dump* d) {
  enum Part { kNone, kOptionLines, kFigures } part = kNone;
  const SectionInfo* current = nullptr;  // the section whose lines follow its heading
  const SectionInfo* table = nullptr;    // the nested section whose rows follow its title
  for (; i < lines.text.size(); ++i) {
    std::string_view raw = lines.text[i], line = trim(raw);
    if (line == kStatusStart) {
      if (part != kNone) break;  // the next report begins
      part = kOptionLines;
      continue;
    }
    if (line == kStatusReport) {
      if (part == kFigures) break;
      part = kFigures;
      continue;
    }
    if (line.empty() || indent_of(raw) == 0) break;
    if (part == kFigures && starts_with(line, kUnusedHeaps)) {
      bool split = table && table->id == SectionId::kBucketHeap;
      add_unused_heaps(d, section(split ? SectionId::kBucketHeap : SectionId::kHeap),
                       line.substr(strlen(kUnusedHeaps)));
      if (!split) current = nullptr;
      continue;
    }
    std::string_view label, value;
    bool is_dotted = dotted(line, &label, &value);
    if (part == kOptionLines) {
      if (is_dotted && label == "Implementation Algorithm") {
        d->policy = policy_from_algorithm(value);
        continue;
      }
      // "pool.... 65536" and "disclaim.... on", or an older report's "pool:65536" and "disclaim".
      std::string_view name = line.substr(0, line.find(' '));
      std::string_view number =
          name.find(':') == std::string_view::npos ? "" : name.substr(name.find(':') + 1);
      name = name.substr(0, name.find(':'));
      if (is_dotted) name = label, number = value;
      // As the JSON document writes them: a number when the option has one (pool without a cap
      // is pool:0), true otherwise.
      // The value is copied into JSON as is, so it must be a plain number.
      std::optional<uint64_t> n = leading_number(number);
      for (const OptionSpec& o : kOptions) {
        if (name != o.name()) continue;
        bool numbered = o.arg == kOptNumber || o.arg == kNumber;
        d->options.emplace_back(o.name(), !numbered ? "true" : std::to_string(n.value_or(0)));
      }
      continue;
    }
    if (indent_of(raw) < 12 && !is_dotted) {  // a section's heading
      uint64_t index = 0;
      current = heading(line, &index);
      table = nullptr;
      if (current) {
        d->rows(current->id).emplace_back();
        if (current->repeated())
          d->rows(current->id).back().set(current->figures().begin()->key(), index);
      }
      continue;
    }
    if (current == nullptr) continue;
    if (!is_dotted) {  // a nested section's title, its column headings or one of its rows
      std::vector<uint64_t> numbers = numbers_only(line);
      if (const SectionInfo* t = table_titled(*current, line)) {
        table = t;
      } else if (table && numbers.size() == table->count) {
        add_row(d, *table, numbers);
      }
      continue;
    }
    const FigureInfo* f = labelled(*current, label);
    Figures& row = d->rows(current->id).back();
    std::optional<uint64_t> v = leading_number(value);
    if (f && f->unit == Unit::kHolder) {
      row.set(f->key(), holder(value));
    } else if (f && f->unit == Unit::kAddress) {
      std::string text(trim(value));
      row.set(f->key(), strtoull(text.c_str(), nullptr, 16));
    } else if (f && v) {
      row.set(f->key(), *v);
    }
  }
  return i;
}

// The bucket statistics summary from its title line; returns the first line after it.
size_t parse_buckets(const Lines& lines, size_t i, Dump* d) {
  const SectionInfo& summary = section(SectionId::kBuckets);
  d->rows(summary.id).emplace_back();
  const SectionInfo* table = nullptr;  // the table whose rows follow its title
  for (++i; i < lines.text.size(); ++i) {
    std::string_view line = trim(lines.text[i]);
    if (line == kBucketsTitle) break;  // the next summary
    if (size_t colon = line.find(':'); !table && colon != std::string_view::npos) {
      const FigureInfo* f = labelled(summary, trim(line.substr(0, colon)));
      std::optional<uint64_t> v = leading_number(line.substr(colon + 1));
      if (f && v) {
        d->rows(summary.id)[0].set(f->key(), *v);
        continue;
      }
    }
    if (const SectionInfo* t = table_titled(summary, line)) {
      table = t;
      continue;
    }
    // AIX's rules, group headings and column headings ("Bucket  Maximum ...", "-----   ---").
    if (line.empty() || starts_with(line, "=====") || starts_with(line, "-----") ||
        line == "Configuration values:" || line == "Allocation request totals:" ||
        starts_with(line, "Bucket ") || starts_with(line, "Number ") || starts_with(line, "Heap "))
      continue;
    std::vector<uint64_t> numbers = numbers_only(line);
    if (table == nullptr || numbers.size() != table->count) break;
    add_row(d, *table, numbers);
  }
  return i;
}

// The JSON object (or array) that holds section s in the document.
const JsonValue* node_of(const JsonValue& doc, const SectionInfo& s) {
  const JsonValue* parent = s.nested() ? node_of(doc, section(s.parent)) : &doc;
  return parent ? parent->find(s.json()) : nullptr;
}

// The figures of section s that one JSON object holds: the table's keys, as numbers.
Figures figures_in(const JsonValue& object, const SectionInfo& s) {
  Figures row;
  for (const FigureInfo& f : s.figures())
    if (std::optional<uint64_t> v = object.u64(f.key())) row.set(f.key(), *v);
  return row;
}

void from_json(const JsonValue& doc, Dump* d) {
  d->library_version = doc.str("library_version");
  d->pid = doc.u64("pid");
  d->policy = doc.str("policy");
  if (const JsonValue* o = doc.find("options"); o && o->kind == JsonValue::kObject) {
    d->options_complete = true;
    for (size_t i = 0; i < o->keys.size(); ++i) {
      const JsonValue& v = o->items[i];
      std::string literal = v.kind == JsonValue::kBool ? (v.boolean ? "true" : "false")
                            : v.integer                ? std::to_string(*v.integer)
                                                       : "null";
      d->options.emplace_back(o->keys[i], literal);
    }
  }
  for (const SectionInfo& s : kSections) {
    const JsonValue* node = node_of(doc, s);
    if (node == nullptr) continue;
    if (!s.repeated() && node->kind == JsonValue::kObject)
      d->rows(s.id).push_back(figures_in(*node, s));
    if (s.repeated() && node->kind == JsonValue::kArray)
      for (const JsonValue& item : node->items)
        if (item.kind == JsonValue::kObject) d->rows(s.id).push_back(figures_in(item, s));
  }
}

// Adds what `from` has and `into` lacks: the first source read wins a figure both hold.
void merge(Dump* into, const Dump& from) {
  if (into->policy.empty()) into->policy = from.policy;
  if (into->library_version.empty()) into->library_version = from.library_version;
  if (!into->pid) into->pid = from.pid;
  if (into->options.empty()) {
    into->options = from.options;
    into->options_complete = from.options_complete;
  }
  for (size_t k = 0; k < kSectionCount; ++k) {
    std::vector<Figures>& rows = into->sections[k];
    if (rows.size() < from.sections[k].size()) rows.resize(from.sections[k].size());
    for (size_t i = 0; i < from.sections[k].size(); ++i) rows[i].fill_from(from.sections[k][i]);
  }
}

}  // namespace

bool parse_dump(std::string_view text, Dump* out, std::string* error) {
  *out = Dump{};
  Lines lines = split(text);
  // The last report of each kind, and how many there were.
  enum Kind { kJson, kStatus, kBuckets, kKinds };
  static const char* const kNames[kKinds] = {"JSON", "status report", "bucket statistics summary"};
  Dump last[kKinds];
  int seen[kKinds] = {};
  bool whole_json = !trim(text).empty() && trim(text)[0] == '{';
  for (size_t i = 0; i < lines.text.size();) {
    std::string_view line = trim(lines.text[i]);
    if (!line.empty() && line[0] == '{') {
      size_t end = 0;
      std::string why;
      std::optional<JsonValue> doc = parse_json(text.substr(lines.offset[i]), &end, &why);
      if (doc && doc->kind == JsonValue::kObject && doc->str("schema") == "aixmalloc-stats") {
        last[kJson] = Dump{};
        from_json(*doc, &last[kJson]);
        if (auto v = doc->u64("schema_version"); v && *v > 1)
          last[kJson].notes.push_back(
              "schema_version " + std::to_string(*v) +
              " is newer than this aixmalloc (1); the keys it knows are read");
        ++seen[kJson];
        size_t stop = lines.offset[i] + end;
        while (i < lines.text.size() && lines.offset[i] < stop) ++i;
        continue;
      }
      if (whole_json && i == 0) {
        *error = doc ? "a JSON document, but not aixmalloc-stats (AIXMALLOC_STATS_JSON)"
                     : "not valid JSON: " + why;
        return false;
      }
    }
    if (line == kStatusStart || line == kStatusReport) {
      last[kStatus] = Dump{};
      i = parse_status(lines, i, &last[kStatus]);
      ++seen[kStatus];
      continue;
    }
    if (line == kBucketsTitle) {
      last[kBuckets] = Dump{};
      i = parse_buckets(lines, i, &last[kBuckets]);
      ++seen[kBuckets];
      continue;
    }
    ++i;
  }
  for (int k = 0; k < kKinds; ++k) {
    if (!seen[k]) continue;
    out->formats.push_back(kNames[k]);
    if (seen[k] > 1)
      out->notes.push_back("the file holds " + std::to_string(seen[k]) + " reports of one kind (" +
                           kNames[k] +
                           "), from a process and its children perhaps; the last one is read");
    for (const std::string& n : last[k].notes) out->notes.push_back(n);
    merge(out, last[k]);
  }
  if (out->formats.empty()) {
    *error =
        "no statistics found: expected AIX's bucket statistics summary, the malloc status report "
        "(AIXMALLOC_STATS) or the JSON document (AIXMALLOC_STATS_JSON)";
    return false;
  }
  return true;
}

}  // namespace aixmalloc::cli
