// Reading statistics dumps (see dump.h). The text formats are read by their structure (labels,
// section headers, rows of numbers), not by column positions, so AIX's own reports, whose spacing
// differs, read the same way. Unknown lines inside a report are skipped; a report ends at the
// first line that belongs to none of its parts.
#include "tools/cli/dump.h"

#include <string.h>

#include "libmalloc/base/config.h"
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

namespace {

constexpr const char* kStatusStart = "The following options are enabled:";
constexpr const char* kStatusReport = "Statistical Report on the Malloc Subsystem:";
constexpr const char* kBucketsTitle = "Malloc buckets statistical summary";

// A label of a text report and the schema key its figure has in the JSON document.
struct Label {
  const char* text;
  const char* key;
};
constexpr Label kHeapLabels[] = {
    {"bytes acquired from sbrk()", "bytes_acquired"},
    {"bytes in the freespace tree", "bytes_free"},
    {"bytes held by the user", "bytes_held"},
    {"allocations currently active", "allocations_active"},
    {"allocations since process start", "allocations_since_start"},
    {"free blocks in the freespace tree", "free_blocks"},
    {"largest free block", "largest_free"},
};
constexpr Label kProcessLabels[] = {{"sbrk()s called by malloc", "grow_calls"}};
constexpr Label kLargeLabels[] = {
    {"blocks currently mapped", "blocks"},
    {"bytes currently mapped", "bytes"},
    {"most bytes mapped at once", "most_bytes"},
    {"allocations since process start", "allocations_since_start"},
};
// Second figures in parentheses: "2 (1 waiting for a thread)", "174 (259136 bytes)".
constexpr Label kPoolLabels[] = {{"thread pools", "thread_pools"},
                                 {"bytes in pool pages", "bytes_in_pages"}};
constexpr Label kPoolSecond[] = {{"thread pools", "orphaned_pools"}};
constexpr Label kCacheLabels[] = {
    {"thread caches", "caches"},
    {"blocks cached now", "blocks_cached"},
    {"requests served from a cache", "requests_served"},
    {"batches taken from the heaps", "batches_taken"},
    {"batches given back to the heaps", "batches_given_back"},
};
constexpr Label kCacheSecond[] = {{"blocks cached now", "bytes_cached"}};
constexpr Label kBucketLabels[] = {
    {"Number of buckets", "number_of_buckets"}, {"Bucket sizing factor", "bucket_sizing_factor"},
    {"Blocks per bucket", "blocks_per_bucket"}, {"Buckets allocator", "buckets_allocator"},
    {"Default allocator", "default_allocator"}, {"Total for process", "total_for_process"},
};
constexpr const char* kBucketRowKeys[] = {"bucket", "maximum_block_size", "allocations"};
constexpr const char* kBucketHeapKeys[] = {"heap", "buckets_allocator", "default_allocator"};
constexpr const char* kPoolRowKeys[] = {"class_size", "allocations", "frees", "remote_frees"};

template <size_t N>
const char* key_of(const Label (&labels)[N], std::string_view text) {
  for (const Label& l : labels)
    if (text == l.text) return l.key;
  return nullptr;
}

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

template <size_t N>
Figures row_of(const std::vector<uint64_t>& numbers, const char* const (&keys)[N]) {
  Figures f;
  for (size_t i = 0; i < N && i < numbers.size(); ++i) f.set(keys[i], numbers[i]);
  return f;
}

std::string policy_from_algorithm(std::string_view text) {
  // "Default Allocator (Yorktown)", "3.1 Allocator (3.1_64BIT)": the spelling in parentheses.
  size_t open = text.rfind('('), close = text.rfind(')');
  if (open != std::string_view::npos && close > open)
    if (auto p = policy_named(text.substr(open + 1, close - open - 1))) return spec(*p).spelling;
  std::string_view first = text.substr(0, text.find(' '));
  if (auto p = policy_named(first)) return spec(*p).spelling;  // "Watson Allocator"
  if (first == "Default") return spec(Policy::kYorktown).spelling;
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

// The status report from line i; returns the first line after it.
size_t parse_status(const Lines& lines, size_t i, Dump* d) {
  enum Section { kNone, kOptionLines, kHeap, kProcess, kLarge, kPool, kCache } section = kNone;
  Figures* heap = nullptr;
  for (; i < lines.text.size(); ++i) {
    std::string_view raw = lines.text[i], line = trim(raw);
    if (line == kStatusStart) {
      if (section != kNone) break;  // the next report begins
      section = kOptionLines;
      continue;
    }
    if (line == kStatusReport) {
      if (section != kNone && section != kOptionLines) break;
      section = kProcess;  // until a heap or another section starts
      continue;
    }
    if (line.empty() || indent_of(raw) == 0) break;
    std::string_view label, value;
    bool is_dotted = dotted(line, &label, &value);
    if (section == kOptionLines) {
      if (is_dotted && label == "Implementation Algorithm") {
        d->policy = policy_from_algorithm(value);
        continue;
      }
      std::string_view name = line.substr(0, line.find(' '));
      std::string_view number =
          name.find(':') == std::string_view::npos ? "" : name.substr(name.find(':') + 1);
      name = name.substr(0, name.find(':'));
      // As the JSON document writes them: a number when the option has one (pool without a cap
      // is pool:0), true otherwise.
      // The value is copied into JSON as is, so it must be a plain number.
      std::optional<uint64_t> n = leading_number(number);
      for (const OptionSpec& o : kOptions) {
        if (name != o.name) continue;
        bool numbered = o.arg == kOptNumber || o.arg == kNumber;
        d->options.emplace_back(o.name, !numbered ? "true" : std::to_string(n.value_or(0)));
      }
      continue;
    }
    if (indent_of(raw) < 12 && !is_dotted) {  // a section header
      heap = nullptr;
      section = kNone;
      if (starts_with(line, "Heap ")) {
        if (auto n = leading_number(line.substr(5)); n && *n < 4096) {
          if (d->heaps.size() <= *n) d->heaps.resize(*n + 1);
          heap = &d->heaps[*n];
          heap->set("heap", *n);
          section = kHeap;
        }
      } else if (line == "The Process Heap") {
        section = kProcess;
      } else if (starts_with(line, "Blocks with their own address range")) {
        section = kLarge;
        d->large_blocks.emplace();
      } else if (starts_with(line, "Pool")) {
        section = kPool;
        d->pool.emplace();
      } else if (starts_with(line, "Thread cache")) {
        section = kCache;
        d->threadcache.emplace();
      }
      continue;
    }
    if (section == kPool && !is_dotted) {
      std::vector<uint64_t> numbers = numbers_only(line);
      if (numbers.size() == 4) d->pool->rows.push_back(row_of(numbers, kPoolRowKeys));
      continue;
    }
    if (!is_dotted) continue;
    std::string_view rest;
    std::optional<uint64_t> v = leading_number(value, &rest);
    std::optional<uint64_t> second = leading_number(trim(rest).substr(trim(rest).empty() ? 0 : 1));
    const char* key = nullptr;
    switch (section) {
      case kHeap:
        if ((key = key_of(kHeapLabels, label)) && v) heap->set(key, *v);
        break;
      case kProcess:
        if ((key = key_of(kProcessLabels, label)) && v) d->process.set(key, *v);
        break;
      case kLarge:
        if ((key = key_of(kLargeLabels, label)) && v) d->large_blocks->set(key, *v);
        break;
      case kPool:
        if ((key = key_of(kPoolLabels, label)) && v) d->pool->figures.set(key, *v);
        if ((key = key_of(kPoolSecond, label))) d->pool->figures.set(key, second.value_or(0));
        break;
      case kCache:
        if ((key = key_of(kCacheLabels, label)) && v) d->threadcache->set(key, *v);
        if ((key = key_of(kCacheSecond, label)) && second) d->threadcache->set(key, *second);
        break;
      default:
        break;
    }
  }
  return i;
}

// The bucket statistics summary from its title line; returns the first line after it.
size_t parse_buckets(const Lines& lines, size_t i, Dump* d) {
  d->buckets.emplace();
  Table& t = *d->buckets;
  enum { kHead, kByBucket, kByHeap } mode = kHead;
  for (++i; i < lines.text.size(); ++i) {
    std::string_view line = trim(lines.text[i]);
    if (line == kBucketsTitle) break;  // the next summary
    if (size_t colon = line.find(':'); mode == kHead && colon != std::string_view::npos) {
      const char* key = key_of(kBucketLabels, trim(line.substr(0, colon)));
      auto v = leading_number(line.substr(colon + 1));
      if (key && v) {
        t.figures.set(key, *v);
        continue;
      }
    }
    // Titles and column headers ("Bucket  Maximum ...", "Number  Block Size ...", "-----").
    if (line.empty() || starts_with(line, "=====") || starts_with(line, "-----") ||
        line == "Configuration values:" || line == "Allocation request totals:" ||
        starts_with(line, "Bucket ") || starts_with(line, "Number ") || starts_with(line, "Heap "))
      continue;
    if (line == "Allocation requests by bucket") {
      mode = kByBucket;
      continue;
    }
    if (line == "Allocation requests by heap") {
      mode = kByHeap;
      continue;
    }
    std::vector<uint64_t> numbers = numbers_only(line);
    if (numbers.size() == 3 && mode == kByBucket) {
      t.rows.push_back(row_of(numbers, kBucketRowKeys));
      continue;
    }
    if (numbers.size() == 3 && mode == kByHeap) {
      t.rows2.push_back(row_of(numbers, kBucketHeapKeys));
      continue;
    }
    break;
  }
  return i;
}

Figures numbers_of(const JsonValue* object) {
  Figures f;
  if (!object || object->kind != JsonValue::kObject) return f;
  for (size_t i = 0; i < object->keys.size(); ++i)
    if (object->items[i].kind == JsonValue::kNumber && object->items[i].integer)
      f.set(object->keys[i], *object->items[i].integer);
  return f;
}

std::vector<Figures> rows_of(const JsonValue* array) {
  std::vector<Figures> rows;
  if (!array || array->kind != JsonValue::kArray) return rows;
  for (const JsonValue& item : array->items) rows.push_back(numbers_of(&item));
  return rows;
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
  for (Figures& h : rows_of(doc.find("heaps"))) {
    uint64_t n = h.get("heap").value_or(d->heaps.size());
    if (n >= 4096) continue;
    if (d->heaps.size() <= n) d->heaps.resize(n + 1);
    d->heaps[n] = h;
  }
  if (doc.find("large_blocks")) d->large_blocks = numbers_of(doc.find("large_blocks"));
  if (doc.find("totals")) d->totals = numbers_of(doc.find("totals"));
  if (doc.find("threadcache")) d->threadcache = numbers_of(doc.find("threadcache"));
  if (const JsonValue* b = doc.find("buckets")) {
    d->buckets.emplace();
    d->buckets->figures = numbers_of(b);
    d->buckets->rows = rows_of(b->find("by_bucket"));
    d->buckets->rows2 = rows_of(b->find("by_heap"));
  }
  if (const JsonValue* p = doc.find("pool")) {
    d->pool.emplace();
    d->pool->figures = numbers_of(p);
    d->pool->rows = rows_of(p->find("by_class"));
  }
}

void fill_table(std::optional<Table>& into, const std::optional<Table>& from) {
  if (!from) return;
  if (!into) {
    into = from;
    return;
  }
  into->figures.fill_from(from->figures);
  if (into->rows.empty()) into->rows = from->rows;
  if (into->rows2.empty()) into->rows2 = from->rows2;
}

void fill_figures(std::optional<Figures>& into, const std::optional<Figures>& from) {
  if (!from) return;
  if (!into)
    into = from;
  else
    into->fill_from(*from);
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
  if (into->heaps.size() < from.heaps.size()) into->heaps.resize(from.heaps.size());
  for (size_t i = 0; i < from.heaps.size(); ++i) into->heaps[i].fill_from(from.heaps[i]);
  into->process.fill_from(from.process);
  fill_figures(into->large_blocks, from.large_blocks);
  fill_figures(into->totals, from.totals);
  fill_figures(into->threadcache, from.threadcache);
  fill_table(into->buckets, from.buckets);
  fill_table(into->pool, from.pool);
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
