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
  bool json = false, log = false, ascii = false;
  std::string svg, file;  // file: the path read, "-" for standard input
  std::string label;      // how the output names the source: the path, or "process N"
  std::optional<LiveRequest> live;
};

bool read_all(const std::string& path, std::string* out, std::string* error) {
  FILE* f = path == "-" ? stdin : fopen(path.c_str(), "rb");
  if (!f) {
    *error = strerror(errno);
    return false;
  }
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out->append(buf, n);
  bool ok = !ferror(f);
  if (!ok) *error = strerror(errno);
  if (f != stdin) fclose(f);
  return ok;
}

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

// The histogram the dump holds: the buckets', or the pool's size classes without buckets.
struct Histogram {
  std::string what;  // "bucket" or "pool size class"
  std::vector<std::string> labels, tooltips;
  std::vector<uint64_t> values;
};

std::optional<Histogram> histogram_of(const Dump& d) {
  Histogram h;
  if (d.buckets && !d.buckets->rows.empty()) {
    h.what = "bucket";
    for (const Figures& r : d.buckets->rows) {
      uint64_t size = r.get("maximum_block_size").value_or(0), n = r.get("allocations").value_or(0);
      h.labels.push_back(std::to_string(size) + " B");
      h.tooltips.push_back("bucket " + figure(r, "bucket") + ": blocks of up to " +
                           std::to_string(size) + " bytes, " + std::to_string(n) + " requests");
      h.values.push_back(n);
    }
    return h;
  }
  if (d.pool && !d.pool->rows.empty()) {
    h.what = "pool size class";
    for (const Figures& r : d.pool->rows) {
      uint64_t size = r.get("class_size").value_or(0), n = r.get("allocations").value_or(0);
      h.labels.push_back(std::to_string(size) + " B");
      h.tooltips.push_back("pool class " + std::to_string(size) + " bytes: " + std::to_string(n) +
                           " requests");
      h.values.push_back(n);
    }
    return h;
  }
  return std::nullopt;
}

std::string options_on(const Dump& d) {
  std::string s;
  for (const auto& option : d.options) {
    // Named copies: clang 14 cannot capture structured bindings in the lambda below.
    const std::string& name = option.first;
    const std::string& literal = option.second;
    if (literal == "false") continue;
    // Sub-options that only tune a layer (number_of_buckets...) are shown with that layer.
    bool tuning = std::any_of(std::begin(kOptions), std::end(kOptions), [&](const OptionSpec& o) {
      return name == o.name && o.arg == kNumber;
    });
    if (tuning) continue;
    if (!s.empty()) s += ", ";
    s += name;
    if (literal != "true" && literal != "0") s += ":" + literal;
  }
  return s.empty() ? "none" : s;
}

void print_buckets(const Table& b) {
  const Figures& f = b.figures;
  puts("Allocation requests by bucket");
  printf("  number_of_buckets %s, bucket_sizing_factor %s, blocks_per_bucket %s\n",
         figure(f, "number_of_buckets").c_str(), figure(f, "bucket_sizing_factor").c_str(),
         figure(f, "blocks_per_bucket").c_str());
  uint64_t in_buckets = f.get("buckets_allocator").value_or(0);
  std::vector<std::vector<std::string>> rows;
  for (const Figures& r : b.rows)
    rows.push_back({figure(r, "bucket"), figure(r, "maximum_block_size"), figure(r, "allocations"),
                    percent(r.get("allocations").value_or(0), in_buckets)});
  print_table({"Bucket", "Max block size", "Requests", "Share"}, rows);
  uint64_t total =
      f.get("total_for_process").value_or(in_buckets + f.get("default_allocator").value_or(0));
  printf(
      "  Buckets allocator %s, default allocator %s, total for process %s (%s served by buckets)\n",
      figure(f, "buckets_allocator").c_str(), figure(f, "default_allocator").c_str(),
      figure(f, "total_for_process").c_str(), percent(in_buckets, total).c_str());
}

// The per-heap table: the status report's or JSON's heap figures, and the buckets' split by heap.
void print_heaps(const Dump& d) {
  struct Column {
    const char* key;
    const char* header;
  };
  static const Column kColumns[] = {
      {"bytes_acquired", "Acquired"},
      {"bytes_free", "Free"},
      {"bytes_held", "Held"},
      {"free_blocks", "Free blocks"},
      {"largest_free", "Largest free"},
      {"allocations_active", "Active"},
      {"allocations_since_start", "Allocations"},
      {"reallocations", "Reallocs"},
      {"failed_requests", "Failed"},
      {"grow_calls", "Grows"},
  };
  size_t heaps = d.heaps.size();
  if (d.buckets) heaps = std::max(heaps, d.buckets->rows2.size());
  if (heaps == 0) return;
  std::vector<std::string> headers = {"Heap"};
  std::vector<const char*> keys;
  for (const Column& c : kColumns) {
    bool any = std::any_of(d.heaps.begin(), d.heaps.end(),
                           [&](const Figures& h) { return h.get(c.key).has_value(); });
    // Failures and reallocations are rare: their columns appear when one is not zero.
    bool rare = strcmp(c.key, "failed_requests") == 0 || strcmp(c.key, "reallocations") == 0;
    if (rare)
      any = std::any_of(d.heaps.begin(), d.heaps.end(),
                        [&](const Figures& h) { return h.get(c.key).value_or(0) != 0; });
    if (!any) continue;
    headers.push_back(c.header);
    keys.push_back(c.key);
  }
  bool split = d.buckets && !d.buckets->rows2.empty();
  if (split) {
    headers.push_back("Bucket requests");
    headers.push_back("Default requests");
  }
  std::vector<std::vector<std::string>> rows;
  size_t unused = 0;
  auto zero = [](const Figures& f, const char* key) {
    auto v = f.get(key);
    return !v || *v == 0;
  };
  for (size_t i = 0; i < heaps; ++i) {
    Figures empty;
    const Figures& h = i < d.heaps.size() ? d.heaps[i] : empty;
    if (h.empty() && !(split && i < d.buckets->rows2.size())) continue;
    // A heap multiheap never handed out (the other 31 of a two-thread program) is one line below.
    bool no_bucket_requests = !split || i >= d.buckets->rows2.size() ||
                              (zero(d.buckets->rows2[i], "buckets_allocator") &&
                               zero(d.buckets->rows2[i], "default_allocator"));
    if (i > 0 && zero(h, "bytes_acquired") && zero(h, "allocations_since_start") && no_bucket_requests) {
      ++unused;
      continue;
    }
    std::vector<std::string> row = {std::to_string(i)};
    for (const char* k : keys) row.push_back(figure(h, k));
    if (split) {
      const Figures& b = i < d.buckets->rows2.size() ? d.buckets->rows2[i] : empty;
      row.push_back(figure(b, "buckets_allocator"));
      row.push_back(figure(b, "default_allocator"));
    }
    rows.push_back(row);
  }
  puts("Heaps");
  print_table(headers, rows);
  if (unused) printf("(%zu more heap%s never used, not shown)\n", unused, unused == 1 ? "" : "s");
}

void print_others(const Dump& d) {
  if (auto g = d.process.get("grow_calls"))
    printf("sbrk()s called by malloc: %llu\n", static_cast<unsigned long long>(*g));
  if (d.large_blocks)
    printf(
        "Large blocks (own address range): %s mapped now (%s bytes), most bytes at once %s, "
        "allocations %s\n",
        figure(*d.large_blocks, "blocks").c_str(), figure(*d.large_blocks, "bytes").c_str(),
        figure(*d.large_blocks, "most_bytes").c_str(),
        figure(*d.large_blocks, "allocations_since_start").c_str());
  if (d.large_blocks && d.large_blocks->get("cached_bytes"))
    printf("Freed large ranges kept for reuse: %s bytes; %s allocations served from them\n",
           figure(*d.large_blocks, "cached_bytes").c_str(), figure(*d.large_blocks, "cache_hits").c_str());
  if (d.totals)
    printf("Totals: %s bytes acquired, %s in use, %s free\n",
           figure(*d.totals, "bytes_acquired").c_str(), figure(*d.totals, "bytes_in_use").c_str(),
           figure(*d.totals, "bytes_free").c_str());
  if (d.pool) {
    const Figures& p = d.pool->figures;
    printf("\nPool: %s thread pools (%s waiting for a thread), %s bytes in pool pages",
           figure(p, "thread_pools").c_str(), figure(p, "orphaned_pools").c_str(),
           figure(p, "bytes_in_pages").c_str());
    if (p.get("bytes_in_use")) printf(", %s in use", figure(p, "bytes_in_use").c_str());
    if (p.get("pages_recycled"))
      printf("; %s empty pages kept for any class, %s pages reused", figure(p, "spare_pages").c_str(),
             figure(p, "pages_recycled").c_str());
    puts("");
    std::vector<std::vector<std::string>> rows;
    for (const Figures& r : d.pool->rows)
      rows.push_back({figure(r, "class_size"), figure(r, "allocations"), figure(r, "frees"),
                      figure(r, "remote_frees")});
    if (!rows.empty()) print_table({"Class", "Allocations", "Frees", "Remote frees"}, rows);
  }
  if (d.threadcache) {
    const Figures& t = *d.threadcache;
    printf(
        "\nThread cache: %s caches, %s blocks cached (%s bytes), %s requests served from a cache, "
        "%s batches "
        "taken from the heaps, %s given back\n",
        figure(t, "caches").c_str(), figure(t, "blocks_cached").c_str(),
        figure(t, "bytes_cached").c_str(), figure(t, "requests_served").c_str(),
        figure(t, "batches_taken").c_str(), figure(t, "batches_given_back").c_str());
  }
}

void print_text(const Dump& d, const StatsFlags& flags) {
  std::string formats;
  for (const auto& f : d.formats) formats += (formats.empty() ? "" : ", ") + f;
  printf("%s: %s\n", flags.label.c_str(), formats.c_str());
  printf("Policy %s; options on: %s\n", d.policy.empty() ? "(not in the file)" : d.policy.c_str(),
         d.options.empty() && !d.options_complete ? "(not in the file)" : options_on(d).c_str());
  if (d.buckets) {
    puts("");
    print_buckets(*d.buckets);
  }
  std::optional<Histogram> h = histogram_of(d);
  if (!d.buckets) {
    bool had_buckets = std::any_of(d.options.begin(), d.options.end(), [](const auto& o) {
      return o.first == spec(OptionId::kBuckets).name && o.second != "false";
    });
    puts(
        had_buckets
            ? "\nNo bucket statistics in this report: the program ran with buckets; the bucket "
              "statistics\n"
              "summary (bucket_statistics) and the JSON document (AIXMALLOC_STATS_JSON) carry them."
        : d.options_complete || !d.options.empty()
            ? "\nNo bucket statistics: the program ran without MALLOCOPTIONS=buckets."
            : "\nNo bucket statistics in this report.");
  }
  if (h) {
    printf("\nRequests per %s%s\n", h->what.c_str(), flags.log ? " (log scale)" : "");
    print_bars(h->labels, h->values, flags.log, unicode_bars(flags.ascii));
  }
  if (!d.heaps.empty() || (d.buckets && !d.buckets->rows2.empty())) {
    puts("");
    print_heaps(d);
  }
  puts("");
  print_others(d);
}

void write_figures(JsonWriter& j, const char* key, const Figures& f) {
  j.begin_object(key);
  for (const auto& [k, v] : f.values) j.number(k.c_str(), v);
  j.end_object();
}

void write_rows(JsonWriter& j, const char* key, const std::vector<Figures>& rows) {
  j.begin_array(key);
  for (const Figures& r : rows) write_figures(j, nullptr, r);
  j.end_array();
}

// The figures read, under the keys of the AIXMALLOC_STATS_JSON schema; absent ones are left out.
std::string to_json(const Dump& d, const StatsFlags& flags) {
  JsonWriter j;
  j.begin_object();
  j.string("schema", "aixmalloc-stats-summary").number("schema_version", uint64_t{1});
  j.string("file", flags.file);
  if (d.pid) j.number("pid", *d.pid);
  j.begin_array("formats");
  for (const auto& f : d.formats) j.string(nullptr, f);
  j.end_array();
  if (!d.library_version.empty()) j.string("library_version", d.library_version);
  if (!d.policy.empty()) j.string("policy", d.policy);
  j.begin_object("options");
  for (const auto& [name, literal] : d.options) j.raw(name.c_str(), literal);
  j.end_object();
  j.boolean("options_complete", d.options_complete);
  j.begin_array("heaps");
  for (const Figures& h : d.heaps)
    if (!h.empty()) write_figures(j, nullptr, h);
  j.end_array();
  if (!d.process.empty()) write_figures(j, "process", d.process);
  if (d.large_blocks) write_figures(j, "large_blocks", *d.large_blocks);
  if (d.totals) write_figures(j, "totals", *d.totals);
  if (d.buckets) {
    j.begin_object("buckets");
    for (const auto& [k, v] : d.buckets->figures.values) j.number(k.c_str(), v);
    write_rows(j, "by_bucket", d.buckets->rows);
    write_rows(j, "by_heap", d.buckets->rows2);
    j.end_object();
  }
  if (d.pool) {
    j.begin_object("pool");
    for (const auto& [k, v] : d.pool->figures.values) j.number(k.c_str(), v);
    write_rows(j, "by_class", d.pool->rows);
    j.end_object();
  }
  if (d.threadcache) write_figures(j, "threadcache", *d.threadcache);
  j.begin_array("notes");
  for (const auto& n : d.notes) j.string(nullptr, n);
  j.end_array();
  j.end_object();
  return j.text();
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
  chart.subtitle =
      base + " - policy " + (d.policy.empty() ? "?" : d.policy) + ", options " + options_on(d);
  if (d.buckets && !d.buckets->rows.empty()) {
    const Figures& f = d.buckets->figures;
    chart.subtitle += " - " + figure(f, "buckets_allocator") + " of " +
                      figure(f, "total_for_process") + " requests served by buckets";
  }
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

// The same path for a FILE and a live answer: parse, then tables or JSON, then the SVG.
int render(const std::string& text, const StatsFlags& flags) {
  Dump dump;
  std::string error;
  if (!parse_dump(text, &dump, &error)) {
    fprintf(stderr, "aixmalloc stats: %s: %s\n", flags.label.c_str(), error.c_str());
    return kExitFailed;
  }
  if (flags.live && dump.pid && *dump.pid != static_cast<uint64_t>(flags.live->pid)) {
    fprintf(stderr, "aixmalloc stats: %s holds the statistics of process %llu, not %d; not shown\n",
            flags.file.c_str(), static_cast<unsigned long long>(*dump.pid), flags.live->pid);
    return kExitFailed;
  }
  for (const auto& n : dump.notes)
    fprintf(stderr, "aixmalloc stats: %s: %s\n", flags.label.c_str(), n.c_str());
  if (flags.json)
    fputs(to_json(dump, flags).c_str(), stdout);
  else
    print_text(dump, flags);
  fflush(stdout);
  if (!flags.svg.empty()) return write_svg(dump, flags);
  return kExitOk;
}

// "--name VALUE" or "--name=VALUE": 1 with *value set, 0 when `a` is another flag, -1 when the
// value is missing.
int flag_value(std::string_view name, int argc, char** argv, int* i, std::string* value) {
  std::string_view a = argv[*i];
  if (a.substr(0, name.size()) != name) return 0;
  if (a.size() == name.size()) {
    if (*i + 1 >= argc) return -1;
    *value = argv[++*i];
    return 1;
  }
  if (a[name.size()] != '=') return 0;
  *value = std::string(a.substr(name.size() + 1));
  return 1;
}

std::optional<pid_t> pid_named(const std::string& text) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  long n = strtol(text.c_str(), nullptr, 10);
  if (n <= 0) return std::nullopt;
  return static_cast<pid_t>(n);
}

}  // namespace

int cmd_stats(int argc, char** argv) {
  StatsFlags flags;
  bool have_file = false;
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
    if (a == "--json") {
      flags.json = true;
    } else if (a == "--log") {
      flags.log = true;
    } else if (a == "--ascii") {
      flags.ascii = true;
    } else if (a.size() > 1 && a[0] == '-') {
      return usage_error("stats", "unknown flag '" + std::string(a) + "'");
    } else if (have_file) {
      return usage_error("stats", "one FILE only");
    } else {
      flags.file = std::string(a);
      have_file = true;
    }
  }
  if (pid_text.empty()) {
    if (!signal_text.empty() || !timeout_text.empty())
      return usage_error("stats", "--signal and --timeout go with --pid");
    if (!have_file) return usage_error("stats", "no FILE given (or --pid PID)");
    flags.label = flags.file == "-" ? "standard input" : flags.file;
    std::string text, error;
    if (!read_all(flags.file, &text, &error)) {
      fprintf(stderr, "aixmalloc stats: cannot read %s: %s\n", flags.file.c_str(), error.c_str());
      return kExitFailed;
    }
    return render(text, flags);
  }

  if (have_file) return usage_error("stats", "give a FILE or --pid, not both");
  LiveRequest request;
  std::optional<pid_t> pid = pid_named(pid_text);
  if (!pid)
    return usage_error("stats",
                       "--pid needs a process ID (a positive number), not '" + pid_text + "'");
  request.pid = *pid;
  if (!signal_text.empty()) {
    std::string why;
    request.signal = parse_stats_signal(signal_text.c_str(), &why);
    if (request.signal == 0)
      return usage_error("stats", "--signal: " + (why.empty() ? "no signal given" : why));
  }
  if (!timeout_text.empty()) {
    char* end = nullptr;
    request.timeout = strtod(timeout_text.c_str(), &end);
    if (*end != '\0' || !(request.timeout > 0 && request.timeout <= 86400))
      return usage_error("stats", "--timeout needs seconds, more than 0 and at most 86400, not '" +
                                      timeout_text + "'");
  }
  LiveAnswer answer;
  if (int status = ask_process(request, &answer); status != kExitOk) return status;
  flags.live = request;
  flags.file = answer.path;
  flags.label = "process " + std::to_string(request.pid);
  return render(answer.document, flags);
}

}  // namespace aixmalloc::cli
