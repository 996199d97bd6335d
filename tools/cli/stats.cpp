// `aixmalloc stats FILE` and `aixmalloc stats --pid PID`: reads a statistics dump (dump.cpp), or
// asks a running process for one (live.cpp), and prints it as tables and a bar chart of the
// requests per bucket, or as JSON (--json), and writes the histogram as SVG (--svg).
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>

#include "tools/cli/cli.h"
#include "tools/cli/dump.h"
#include "tools/cli/json.h"
#include "tools/cli/live.h"
#include "tools/cli/svg.h"

namespace aixmalloc::cli {

namespace {

struct StatsFlags {
  bool json = false, log = false, ascii = false, sum = false;
  std::string svg, file;  // file: the path read, "-" for standard input
  std::string label;      // how the output names the source: the path, or "process N"
  std::optional<LiveRequest> live;
  size_t reports = 1;           // --sum: how many reports were added
  std::vector<uint64_t> pids;  // --sum: the processes whose reports were added (JSON ones)
};

int terminal_width() {
  struct winsize ws;
  if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    return std::clamp<int>(ws.ws_col, 40, 240);
  if (const char* c = getenv("COLUMNS"); c && atoi(c) > 0) return std::clamp(atoi(c), 40, 240);
  return 80;
}

bool unicode_bars(bool ascii) {
  if (ascii || !isatty(STDOUT_FILENO)) return false;
  setlocale(LC_CTYPE, "");
  const char* codeset = nl_langinfo(CODESET);
  return codeset && (strcmp(codeset, "UTF-8") == 0 || strcmp(codeset, "utf8") == 0);
}

// Right-aligned columns as wide as their widest cell.
void print_table(const std::vector<std::string>& headers,
                 const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(headers.size());
  for (size_t c = 0; c < headers.size(); ++c) {
    width[c] = headers[c].size();
    for (const auto& r : rows) width[c] = std::max(width[c], r[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s = " ";
    for (size_t c = 0; c < cells.size(); ++c) {
      s += "  ";
      std::string pad(width[c] - cells[c].size(), ' ');
      s += pad + cells[c];
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    puts(s.c_str());
  };
  line(headers);
  for (const auto& r : rows) line(r);
}

std::string percent(uint64_t part, uint64_t whole) {
  char buf[16];
  snprintf(buf, sizeof(buf), "%.1f%%",
           whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0);
  return buf;
}

// One bar per line: "label |bar count". Unicode eighth blocks on a UTF-8 terminal, '#' otherwise.
void print_bars(const std::vector<std::string>& labels, const std::vector<uint64_t>& values,
                bool log, bool unicode) {
  size_t label_w = 0, count_w = 0;
  for (const auto& l : labels) label_w = std::max(label_w, l.size());
  for (uint64_t v : values) count_w = std::max(count_w, std::to_string(v).size());
  int bar_w = std::max(10, terminal_width() - static_cast<int>(label_w + count_w) - 6);
  uint64_t max_v = values.empty() ? 0 : *std::max_element(values.begin(), values.end());
  auto scale = [&](uint64_t v) {
    if (max_v == 0) return 0.0;
    return log ? log10(static_cast<double>(v) + 1) / log10(static_cast<double>(max_v) + 1)
               : static_cast<double>(v) / static_cast<double>(max_v);
  };
  static const char* const kEighths[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
  for (size_t i = 0; i < values.size(); ++i) {
    int eighths = static_cast<int>(lround(scale(values[i]) * bar_w * 8));
    if (values[i] > 0 && eighths == 0) eighths = 1;  // a non-zero count is never invisible
    std::string bar;
    int cells = unicode ? eighths / 8 : (eighths + 7) / 8;
    for (int c = 0; c < cells; ++c) bar += unicode ? "█" : "#";
    if (unicode) bar += kEighths[eighths % 8];
    int shown = cells + (unicode && eighths % 8 ? 1 : 0);
    printf("  %*s |%s%*s %*llu\n", static_cast<int>(label_w), labels[i].c_str(), bar.c_str(),
           bar_w - shown, "", static_cast<int>(count_w),
           static_cast<unsigned long long>(values[i]));
  }
}

std::string figure(const Figures& f, const char* key) {
  auto v = f.get(key);
  return v ? std::to_string(*v) : "-";
}
template <class S>
std::string figure(const Figures& f, uint64_t S::*field) {
  return figure(f, key_of(field));
}
template <class S>
uint64_t value_or_0(const Figures& f, uint64_t S::*field) {
  return f.get(field).value_or(0);
}

// The histogram the dump holds: the buckets', or the pool's size classes without buckets.
struct Histogram {
  std::string what;  // "bucket" or "pool size class"
  std::vector<std::string> labels, tooltips;
  std::vector<uint64_t> values;
};

std::optional<Histogram> histogram_of(const Dump& d) {
  bool buckets = !d.rows(SectionId::kBucketSize).empty();
  const std::vector<Figures>& rows =
      d.rows(buckets ? SectionId::kBucketSize : SectionId::kPoolClass);
  if (rows.empty()) return std::nullopt;
  Histogram h;
  h.what = buckets ? "bucket" : "pool size class";
  for (const Figures& r : rows) {
    uint64_t size = buckets ? value_or_0(r, &BucketSizeFigures::max_size)
                            : value_or_0(r, &PoolClassFigures::class_size);
    uint64_t n = buckets ? value_or_0(r, &BucketSizeFigures::allocations)
                         : value_or_0(r, &PoolClassFigures::allocations);
    std::string bytes = std::to_string(size), requests = std::to_string(n) + " requests";
    h.labels.push_back(bytes + " B");
    h.tooltips.push_back(buckets ? "bucket " + figure(r, &BucketSizeFigures::index) +
                                       ": blocks of up to " + bytes + " bytes, " + requests
                                 : "pool class " + bytes + " bytes: " + requests);
    h.values.push_back(n);
  }
  return h;
}

// The configuration a dump shows: the options it lists, or, for a report that lists none (AIX's
// bucket summary), the layers its sections show were on.
std::string options_on(const Dump& d) {
  if (d.options.empty() && !d.options_complete) {
    std::string s;
    auto add = [&](const std::string& o) { s += (s.empty() ? "" : ", ") + o; };
    if (d.one(SectionId::kBuckets)) add("buckets");
    if (d.rows(SectionId::kBucketHeap).size() > 1 || d.rows(SectionId::kHeap).size() > 1)
      add("multiheap:" + std::to_string(std::max(d.rows(SectionId::kBucketHeap).size(),
                                                 d.rows(SectionId::kHeap).size())));
    if (d.one(SectionId::kPool)) add("pool");
    if (d.one(SectionId::kThreadCache)) add("threadcache");
    return s.empty() ? "none" : s;
  }
  std::string s;
  for (const auto& option : d.options) {
    // Named copies: clang 14 cannot capture structured bindings in the lambda below.
    const std::string& name = option.first;
    const std::string& literal = option.second;
    if (literal == "false") continue;
    // Sub-options that only tune a layer (number_of_buckets...) are shown with that layer.
    bool tuning = std::any_of(std::begin(kOptions), std::end(kOptions), [&](const OptionSpec& o) {
      return name == o.name() && o.arg == kNumber;
    });
    if (tuning) continue;
    if (!s.empty()) s += ", ";
    s += name;
    if (literal != "true" && literal != "0") s += ":" + literal;
  }
  return s.empty() ? "none" : s;
}

void print_buckets(const Dump& d) {
  const Figures& f = *d.one(SectionId::kBuckets);
  puts("Allocation requests by bucket");
  printf("  number_of_buckets %s, bucket_sizing_factor %s, blocks_per_bucket %s\n",
         figure(f, &BucketsFigures::count).c_str(), figure(f, &BucketsFigures::factor).c_str(),
         figure(f, &BucketsFigures::blocks_per_bucket).c_str());
  uint64_t in_buckets = value_or_0(f, &BucketsFigures::in_buckets);
  std::vector<std::vector<std::string>> rows;
  for (const Figures& r : d.rows(SectionId::kBucketSize))
    rows.push_back({figure(r, &BucketSizeFigures::index), figure(r, &BucketSizeFigures::max_size),
                    figure(r, &BucketSizeFigures::allocations),
                    percent(value_or_0(r, &BucketSizeFigures::allocations), in_buckets)});
  print_table({"Bucket", "Max block size", "Requests", "Share"}, rows);
  uint64_t total = f.get(&BucketsFigures::total)
                       .value_or(in_buckets + value_or_0(f, &BucketsFigures::in_default));
  printf(
      "  Buckets allocator %s, default allocator %s, total for process %s (%s served by buckets)\n",
      figure(f, &BucketsFigures::in_buckets).c_str(),
      figure(f, &BucketsFigures::in_default).c_str(), figure(f, &BucketsFigures::total).c_str(),
      percent(in_buckets, total).c_str());
}

// The per-heap table: the heaps' figures under short headings, and the buckets' split by heap.
void print_heaps(const Dump& d) {
  struct Column {
    uint64_t HeapFigures::*field;
    const char* header;
    bool rare;  // shown when a heap's figure is not zero
  };
  static const Column kColumns[] = {
      {&HeapFigures::acquired, "Acquired", false},
      {&HeapFigures::free_bytes, "Free", false},
      {&HeapFigures::held, "Held", false},
      {&HeapFigures::free_blocks, "Free blocks", false},
      {&HeapFigures::largest_free, "Largest free", false},
      {&HeapFigures::active, "Active", false},
      {&HeapFigures::allocations, "Allocations", false},
      {&HeapFigures::frees, "Frees", false},
      {&HeapFigures::reallocs, "Reallocs", true},
      {&HeapFigures::failures, "Failed", true},
      {&HeapFigures::grow_calls, "Grows", false},
      {&HeapFigures::locked, "Locked", true},
  };
  const std::vector<Figures>& heap_rows = d.rows(SectionId::kHeap);
  const std::vector<Figures>& split_rows = d.rows(SectionId::kBucketHeap);
  size_t heaps = std::max(heap_rows.size(), split_rows.size());
  if (heaps == 0) return;
  std::vector<std::string> headers = {"Heap"};
  std::vector<uint64_t HeapFigures::*> fields;
  for (const Column& c : kColumns) {
    bool any = std::any_of(heap_rows.begin(), heap_rows.end(), [&](const Figures& h) {
      return c.rare ? h.get(c.field).value_or(0) != 0 : h.get(c.field).has_value();
    });
    if (!any) continue;
    headers.push_back(c.header);
    fields.push_back(c.field);
  }
  bool split = !split_rows.empty();
  if (split) {
    headers.push_back("Bucket requests");
    headers.push_back("Default requests");
  }
  std::vector<std::vector<std::string>> rows;
  size_t unused = 0;
  for (size_t i = 0; i < heaps; ++i) {
    Figures empty;
    const Figures& h = i < heap_rows.size() ? heap_rows[i] : empty;
    const Figures& b = i < split_rows.size() ? split_rows[i] : empty;
    if (h.empty() && b.empty()) continue;
    // A heap multiheap never handed out (the other 31 of a two-thread program) is one line below.
    if (i > 0 && value_or_0(h, &HeapFigures::acquired) == 0 &&
        value_or_0(h, &HeapFigures::allocations) == 0 &&
        value_or_0(b, &BucketHeapFigures::in_buckets) == 0 &&
        value_or_0(b, &BucketHeapFigures::in_default) == 0) {
      ++unused;
      continue;
    }
    std::vector<std::string> row = {std::to_string(i)};
    for (uint64_t HeapFigures::*f : fields) row.push_back(figure(h, f));
    if (split) {
      row.push_back(figure(b, &BucketHeapFigures::in_buckets));
      row.push_back(figure(b, &BucketHeapFigures::in_default));
    }
    rows.push_back(row);
  }
  puts("Heaps");
  print_table(headers, rows);
  if (unused) printf("(%zu more heap%s never used, not shown)\n", unused, unused == 1 ? "" : "s");
}

// Every other section the dump holds, as the table describes it: its title, a line per figure,
// and its nested sections as tables. Heaps and buckets have their tables above.
void print_others(const Dump& d) {
  for (const SectionInfo& s : kSections) {
    if (s.nested() || s.id == SectionId::kHeap || s.id == SectionId::kBuckets) continue;
    const Figures* f = d.one(s.id);
    if (f == nullptr) continue;
    printf("\n%s\n", s.title());
    size_t width = 0;
    for (const FigureInfo& fig : s.figures()) width = std::max(width, strlen(fig.label()));
    for (const FigureInfo& fig : s.figures())
      if (std::optional<uint64_t> v = f->get(fig.key()))
        printf("  %-*s  %llu\n", static_cast<int>(width), fig.label(),
               static_cast<unsigned long long>(*v));
    for (const SectionInfo& t : kSections) {
      if (t.parent != s.id || d.rows(t.id).empty()) continue;
      std::vector<std::string> headers;
      for (const FigureInfo& fig : t.figures()) headers.push_back(fig.label());
      std::vector<std::vector<std::string>> rows;
      for (const Figures& r : d.rows(t.id)) {
        rows.emplace_back();
        for (const FigureInfo& fig : t.figures()) rows.back().push_back(figure(r, fig.key()));
      }
      printf("  %s\n", t.title());
      print_table(headers, rows);
    }
  }
}

void print_text(const Dump& d, const StatsFlags& flags) {
  std::string formats;
  for (const auto& f : d.formats) formats += (formats.empty() ? "" : ", ") + f;
  printf("%s: %s\n", flags.label.c_str(), formats.c_str());
  if (flags.sum) {
    std::string pids;
    for (uint64_t p : flags.pids) pids += (pids.empty() ? "" : ", ") + std::to_string(p);
    printf("Figures of %zu processes added up%s%s\n", flags.reports,
           pids.empty() ? "" : "; process IDs ", pids.c_str());
  }
  printf("Policy %s; options on: %s\n", d.policy.empty() ? "(not in the file)" : d.policy.c_str(),
         d.options.empty() && !d.options_complete ? "(not in the file)" : options_on(d).c_str());
  bool buckets = d.one(SectionId::kBuckets) != nullptr;
  if (buckets) {
    puts("");
    print_buckets(d);
  }
  std::optional<Histogram> h = histogram_of(d);
  if (!buckets)
    puts(d.options_complete || !d.options.empty()
             ? "\nNo bucket statistics: the program ran without MALLOCOPTIONS=buckets."
             : "\nNo bucket statistics in this report.");
  if (h) {
    printf("\nRequests per %s%s\n", h->what.c_str(), flags.log ? " (log scale)" : "");
    print_bars(h->labels, h->values, flags.log, unicode_bars(flags.ascii));
  }
  if (!d.rows(SectionId::kHeap).empty() || !d.rows(SectionId::kBucketHeap).empty()) {
    puts("");
    print_heaps(d);
  }
  print_others(d);
}

// The figures read, under the keys of the AIXMALLOC_STATS_JSON document (the table's walk);
// absent ones are left out. Schema version 2: the sections are the document's, "process" is gone
// (its grow_calls is in "totals").
std::string to_json(const Dump& d, const StatsFlags& flags) {
  JsonWriter j;
  j.begin_object();
  j.string("schema", "aixmalloc-stats-summary").number("schema_version", uint64_t{2});
  j.string("file", flags.file);
  if (d.pid) j.number("pid", *d.pid);
  if (flags.sum) {
    j.number("reports", flags.reports);
    j.begin_array("pids");
    for (uint64_t p : flags.pids) j.number(nullptr, p);
    j.end_array();
  }
  j.begin_array("formats");
  for (const auto& f : d.formats) j.string(nullptr, f);
  j.end_array();
  if (!d.library_version.empty()) j.string("library_version", d.library_version);
  if (!d.policy.empty()) j.string("policy", d.policy);
  j.begin_object("options");
  for (const auto& [name, literal] : d.options) j.raw(name.c_str(), literal);
  j.end_object();
  j.boolean("options_complete", d.options_complete);
  JsonSections<JsonWriter> sections{j};
  walk(sections, d);
  j.begin_array("notes");
  for (const auto& n : d.notes) j.string(nullptr, n);
  j.end_array();
  j.end_object();
  return j.text();
}

// `stats --keys`: every figure of the table, a line each: where it is in the JSON document, its
// key and its label in the status report ("heaps bytes_acquired bytes acquired from sbrk()"), for
// the tests that hold the formats and the man page against the table.
void print_keys() {
  for (const SectionInfo& s : kSections)
    for (const FigureInfo& f : s.figures())
      printf("%s %s %s\n", json_path(s).c_str(), f.key(), f.label());
}

int write_svg(const Dump& d, const StatsFlags& flags) {
  std::optional<Histogram> h = histogram_of(d);
  if (!h) {
    fprintf(stderr,
            "aixmalloc stats: %s has no bucket statistics to plot (run the program with "
            "MALLOCOPTIONS=buckets)\n",
            flags.label.c_str());
    return kExitFailed;
  }
  BarChart chart;
  chart.title = "Allocation requests per " + h->what;
  std::string base = flags.label.substr(flags.label.rfind('/') + 1);
  // Buckets exist under the default policy only, so a bucket summary names it.
  std::string policy = !d.policy.empty()               ? d.policy
                       : d.one(SectionId::kBuckets) ? spec(Policy::kYorktown).spelling()
                                                    : "";
  chart.subtitle = base + " - " + (policy.empty() ? "" : "policy " + policy + ", ") + "options " +
                   options_on(d);
  if (const Figures* f = d.one(SectionId::kBuckets); f && !d.rows(SectionId::kBucketSize).empty())
    chart.subtitle += " - " + figure(*f, &BucketsFigures::in_buckets) + " of " +
                      figure(*f, &BucketsFigures::total) + " requests served by buckets";
  chart.x_label = h->what == "bucket" ? "bucket (largest block size)" : "pool size class";
  chart.y_label = "requests";
  chart.labels = h->labels;
  chart.tooltips = h->tooltips;
  chart.values = h->values;
  chart.log_scale = flags.log;
  std::string svg = render_svg(chart);
  FILE* f = flags.svg == "-" ? stdout : fopen(flags.svg.c_str(), "w");
  if (!f || fwrite(svg.data(), 1, svg.size(), f) != svg.size() || (f != stdout && fclose(f) != 0)) {
    fprintf(stderr, "aixmalloc stats: cannot write %s: %s\n", flags.svg.c_str(), strerror(errno));
    return kExitFailed;
  }
  return kExitOk;
}

// Tables or JSON, then the SVG; with --svg - the SVG alone goes to standard output.
int show(const Dump& dump, const StatsFlags& flags) {
  for (const auto& n : dump.notes)
    fprintf(stderr, "aixmalloc stats: %s: %s\n", flags.label.c_str(), n.c_str());
  if (flags.svg != "-") {
    if (flags.json)
      fputs(to_json(dump, flags).c_str(), stdout);
    else
      print_text(dump, flags);
    fflush(stdout);
  }
  if (!flags.svg.empty()) return write_svg(dump, flags);
  return kExitOk;
}

// A FILE or a live answer, parsed; false with the reason on stderr.
bool parse(const std::string& text, const StatsFlags& flags, Dump* dump) {
  std::string error;
  if (!parse_dump(text, dump, &error)) {
    fprintf(stderr, "aixmalloc stats: %s: %s\n", flags.label.c_str(), error.c_str());
    return false;
  }
  if (flags.live && dump->pid && *dump->pid != static_cast<uint64_t>(flags.live->pid)) {
    fprintf(stderr, "aixmalloc stats: %s holds the statistics of process %llu, not %d; not shown\n",
            flags.file.c_str(), static_cast<unsigned long long>(*dump->pid), flags.live->pid);
    return false;
  }
  return true;
}

int render(const std::string& text, const StatsFlags& flags) {
  Dump dump;
  return parse(text, flags, &dump) ? show(dump, flags) : kExitFailed;
}

// Several files: each shown in turn (JSON: an array of the documents), or with --sum added up
// into one. A file that cannot be read or parsed is named, the others are still shown.
int render_files(const std::vector<std::string>& files, StatsFlags flags) {
  int status = kExitOk;
  std::vector<Dump> dumps;
  std::vector<std::string> read;
  for (const std::string& file : files) {
    StatsFlags one = flags;
    one.file = one.label = file;
    std::string text, error;
    Dump d;
    if (!read_all(file, &text, &error)) {
      fprintf(stderr, "aixmalloc stats: cannot read %s: %s\n", file.c_str(), error.c_str());
      status = kExitFailed;
    } else if (text.empty()) {
      // A claimed file whose process never wrote its report.
      fprintf(stderr,
              "aixmalloc stats: %s is empty: its process ended without its exit report (_exit, "
              "a fatal signal); left out\n",
              file.c_str());
    } else if (!parse(text, one, &d)) {
      status = kExitFailed;
    } else if (flags.sum) {
      dumps.push_back(std::move(d));
      read.push_back(file);
    } else {
      if (flags.json)
        fputs(read.empty() ? "[" : ",", stdout);
      else if (!read.empty())
        puts("");
      read.push_back(file);
      int shown = show(d, one);
      if (shown != kExitOk) status = shown;
    }
  }
  if (!flags.sum) {
    if (flags.json) puts(read.empty() ? "[]" : "]");
    return status;
  }
  if (dumps.empty()) {
    fprintf(stderr, "aixmalloc stats: no report to add up\n");
    return kExitFailed;
  }
  flags.reports = dumps.size();
  for (const Dump& d : dumps)
    if (d.pid) flags.pids.push_back(*d.pid);
  flags.file = files.size() == 1 ? files[0] : std::to_string(files.size()) + " files";
  flags.label = "sum of " + std::to_string(dumps.size()) + " report" +
                (dumps.size() == 1 ? "" : "s") + " (" + read.front() +
                (read.size() > 1 ? " ... " + read.back() : "") + ")";
  int shown = show(sum_dumps(dumps), flags);
  return status != kExitOk ? status : shown;
}

}  // namespace

int cmd_stats(int argc, char** argv) {
  StatsFlags flags;
  std::vector<std::string> args;  // FILEs and patterns
  std::string pid_text, signal_text, timeout_text;
  for (int i = 0; i < argc; ++i) {
    std::string_view a = argv[i];
    if (is_help_flag(a)) {
      print_command_help(*find_command("stats"), stdout);
      return kExitOk;
    }
    bool matched = false;
    for (auto [name, into] :
         {std::pair{"--svg", &flags.svg}, std::pair{"--pid", &pid_text},
          std::pair{"--signal", &signal_text}, std::pair{"--timeout", &timeout_text}}) {
      int found = flag_value(name, argc, argv, &i, into);
      if (found < 0) return usage_error("stats", std::string(name) + " needs a value");
      if (found > 0 && into->empty())
        return usage_error("stats", std::string(name) + " needs a value");
      matched = found > 0;
      if (matched) break;
    }
    if (matched) continue;
    if (a == "--keys") {  // for the tests; not in the help
      print_keys();
      return kExitOk;
    }
    if (a == "--json") {
      flags.json = true;
    } else if (a == "--log") {
      flags.log = true;
    } else if (a == "--ascii") {
      flags.ascii = true;
    } else if (a == "--sum") {
      flags.sum = true;
    } else if (a.size() > 1 && a[0] == '-') {
      return usage_error("stats", "unknown flag '" + std::string(a) + "'");
    } else {
      args.emplace_back(a);
    }
  }
  bool have_file = !args.empty();
  if (pid_text.empty()) {
    if (!signal_text.empty() || !timeout_text.empty())
      return usage_error("stats", "--signal and --timeout go with --pid");
    if (!have_file) return usage_error("stats", "no FILE given (or --pid PID)");
    std::vector<std::string> files;
    for (const std::string& arg : args) {
      if (arg == "-" && args.size() > 1)
        return usage_error("stats", "standard input (-) is read alone, without other FILEs");
      std::vector<std::string> named = report_files(arg);
      if (named.empty()) {
        fprintf(stderr, "aixmalloc stats: no file matches %s\n", arg.c_str());
        return kExitFailed;
      }
      files.insert(files.end(), named.begin(), named.end());
    }
    if (files.size() > 1 || flags.sum) {
      if (!flags.sum && !flags.svg.empty())
        return usage_error("stats", "--svg draws one report: give one FILE, or add --sum");
      return render_files(files, flags);
    }
    flags.file = files[0];
    flags.label = flags.file == "-" ? "standard input" : flags.file;
    std::string text, error;
    if (!read_all(flags.file, &text, &error)) {
      fprintf(stderr, "aixmalloc stats: cannot read %s: %s\n", flags.file.c_str(), error.c_str());
      return kExitFailed;
    }
    return render(text, flags);
  }

  if (have_file) return usage_error("stats", "give a FILE or --pid, not both");
  if (flags.sum) return usage_error("stats", "--sum adds up FILEs; --pid asks one process");
  LiveRequest request;
  if (int status = live_request_flags("stats", pid_text, signal_text, timeout_text, &request);
      status != kExitOk)
    return status;
  LiveAnswer answer;
  if (int status = ask_process(request, &answer); status != kExitOk) return status;
  flags.live = request;
  flags.file = answer.path;
  flags.label = "process " + std::to_string(request.pid);
  return render(answer.document, flags);
}

}  // namespace aixmalloc::cli
