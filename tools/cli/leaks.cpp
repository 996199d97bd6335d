// `aixmalloc leaks FILE` and `aixmalloc leaks --pid PID`: reads the leak report a process writes
// (MALLOCDEBUG=report_allocations at exit, or on request over AIXMALLOC_STATS_SIGNAL), names the
// frames the runtime could not name with the symbolizer of libmalloc/symbolize.h (only from a
// module file whose build id is the recorded one), and prints the top sites as a table, the folded
// stacks of flame-graph tools (--folded), a flame graph (--svg) or the document again (--json).
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>

#include "libmalloc/symbolize.h"
#include "tools/cli/cli.h"
#include "tools/cli/json.h"
#include "tools/cli/live.h"
#include "tools/cli/svg.h"

namespace aixmalloc::cli {

namespace {

struct LeakModule {
  uint64_t id = 0;
  std::string path, base, build_id;  // as recorded ("0x..." and hex)
  bool usable = false;               // its file here has the recorded build id
};

struct LeakFrame {
  std::string pc, offset;               // "0x..." as recorded
  std::optional<uint64_t> module;       // absent: the pc is in no module
  std::string function, file;           // "" when unknown
  uint64_t line = 0;
};

struct LeakSite {
  uint64_t count = 0, bytes = 0, min_size = 0, max_size = 0;
  std::vector<LeakFrame> frames;  // innermost first
};

struct LeakReport {
  uint64_t pid = 0, ppid = 0, time_ns = 0, stack_depth = 0;
  std::string program, when, log;
  bool extended = false;
  std::vector<LeakModule> modules;
  std::vector<LeakSite> sites;
  uint64_t total_count = 0, total_bytes = 0;
};

struct LeaksFlags {
  bool json = false, folded = false;
  size_t top = 10, depth = 0;  // depth 0: every recorded frame
  std::string svg, label;
};

uint64_t hex_value(const std::string& s) { return strtoull(s.c_str(), nullptr, 16); }

bool parse_report(const std::string& text, LeakReport* r, std::string* error) {
  size_t end = 0;
  std::optional<JsonValue> doc = parse_json(text, &end, error);
  if (!doc) return false;
  if (doc->kind != JsonValue::kObject || doc->str("format") != "aixmalloc-leaks") {
    *error = "not a leak report (no \"format\": \"aixmalloc-leaks\")";
    return false;
  }
  if (doc->u64("version") != 1) {
    *error = "leak report version " + std::to_string(doc->u64("version").value_or(0)) +
             ", this aixmalloc reads version 1";
    return false;
  }
  r->pid = doc->u64("pid").value_or(0);
  r->ppid = doc->u64("ppid").value_or(0);
  r->time_ns = doc->u64("time_ns").value_or(0);
  r->stack_depth = doc->u64("stack_depth").value_or(0);
  r->program = doc->str("program");
  r->when = doc->str("when");
  r->log = doc->str("log");
  if (const JsonValue* e = doc->find("extended")) r->extended = e->kind == JsonValue::kBool && e->boolean;
  if (const JsonValue* ms = doc->find("modules"); ms && ms->kind == JsonValue::kArray) {
    for (const JsonValue& m : ms->items) {
      LeakModule mod;
      mod.id = m.u64("id").value_or(r->modules.size());
      mod.path = m.str("path");
      mod.base = m.str("base");
      mod.build_id = m.str("build_id");
      if (mod.path.empty() && mod.id == 0) mod.path = r->program;
      r->modules.push_back(mod);
    }
  }
  const JsonValue* sites = doc->find("sites");
  if (!sites || sites->kind != JsonValue::kArray) {
    *error = "the leak report has no \"sites\" array";
    return false;
  }
  for (const JsonValue& s : sites->items) {
    LeakSite site;
    site.count = s.u64("count").value_or(0);
    site.bytes = s.u64("bytes").value_or(0);
    site.min_size = s.u64("min_size").value_or(0);
    site.max_size = s.u64("max_size").value_or(0);
    if (const JsonValue* fs = s.find("frames"); fs && fs->kind == JsonValue::kArray) {
      for (const JsonValue& f : fs->items) {
        LeakFrame frame;
        frame.pc = f.str("pc");
        frame.offset = f.str("offset");
        frame.module = f.u64("module");
        frame.function = f.str("function");
        frame.file = f.str("file");
        frame.line = f.u64("line").value_or(0);
        site.frames.push_back(frame);
      }
    }
    r->sites.push_back(site);
  }
  std::stable_sort(r->sites.begin(), r->sites.end(),
                   [](const LeakSite& a, const LeakSite& b) { return a.bytes > b.bytes; });
  if (const JsonValue* t = doc->find("total")) {
    r->total_count = t->u64("count").value_or(0);
    r->total_bytes = t->u64("bytes").value_or(0);
  } else {
    for (const LeakSite& s : r->sites) {
      r->total_count += s.count;
      r->total_bytes += s.bytes;
    }
  }
  return true;
}

std::string hex_bytes(const unsigned char* b, size_t n) {
  std::string s;
  char two[3];
  for (size_t i = 0; i < n; ++i) {
    snprintf(two, sizeof(two), "%02x", b[i]);
    s += two;
  }
  return s;
}

const LeakModule* module_of(const LeakReport& r, const LeakFrame& f) {
  if (!f.module) return nullptr;
  for (const LeakModule& m : r.modules)
    if (m.id == *f.module) return &m;
  return nullptr;
}

// Names the frames the runtime left unnamed, from the module files of this machine, and says on
// standard error which modules could not be used and why.
void symbolize(LeakReport* r) {
  std::vector<uint64_t> needed;  // the modules of the unnamed frames
  for (const LeakSite& s : r->sites)
    for (const LeakFrame& f : s.frames)
      if (f.function.empty() && f.module &&
          std::find(needed.begin(), needed.end(), *f.module) == needed.end())
        needed.push_back(*f.module);
  if (needed.empty()) return;
  rt::Symbolizer symbolizer;
  if (!symbolizer.has_debug_library()) {
    fputs("aixmalloc leaks: libdw.so.1 (elfutils) cannot be loaded, so unnamed frames stay "
          "module+offset (install libdw1)\n",
          stderr);
    return;
  }
  for (LeakModule& m : r->modules) {
    if (std::find(needed.begin(), needed.end(), m.id) == needed.end()) continue;
    rt::FrameName file;
    if (m.path.empty() || !symbolizer.name_in_file(m.path.c_str(), 0, &file)) {
      fprintf(stderr, "aixmalloc leaks: module %s cannot be read here; its frames stay module+offset\n",
              m.path.empty() ? ("#" + std::to_string(m.id)).c_str() : m.path.c_str());
      continue;
    }
    const std::string here = hex_bytes(file.module.build_id, file.module.build_id_size);
    if (m.build_id.empty() || here != m.build_id) {
      fprintf(stderr,
              "aixmalloc leaks: %s on this machine has build id %s, the report recorded %s: not "
              "the same file, so its frames stay module+offset\n",
              m.path.c_str(), here.empty() ? "(none)" : here.c_str(),
              m.build_id.empty() ? "none" : m.build_id.c_str());
      continue;
    }
    m.usable = true;
  }
  for (LeakSite& s : r->sites) {
    for (LeakFrame& f : s.frames) {
      const LeakModule* m = module_of(*r, f);
      if (!f.function.empty() || !m || !m->usable) continue;
      rt::FrameName name;
      if (!symbolizer.name_in_file(m->path.c_str(), hex_value(f.offset), &name)) continue;
      f.function = name.function;
      if (name.file[0] && f.file.empty()) {
        f.file = name.file;
        f.line = name.line;
      }
    }
  }
}

std::string basename_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// "leak_a" for a named frame; "libfoo.so+0x1234" otherwise; "0x7f..." outside every module.
std::string short_name(const LeakReport& r, const LeakFrame& f) {
  if (!f.function.empty()) return f.function;
  const LeakModule* m = module_of(r, f);
  if (!m) return f.pc.empty() ? "?" : f.pc;
  return basename_of(m->path.empty() ? "module" + std::to_string(m->id) : m->path) + "+" + f.offset;
}

// The table's line of a frame: the name, then where (file:line, or the module).
std::string long_name(const LeakReport& r, const LeakFrame& f) {
  std::string s = short_name(r, f);
  if (!f.file.empty())
    s += "  " + basename_of(f.file) + (f.line ? ":" + std::to_string(f.line) : "");
  else if (const LeakModule* m = module_of(r, f); m && !f.function.empty())
    s += "  in " + basename_of(m->path);
  return s;
}

size_t shown_frames(const LeakSite& s, const LeaksFlags& flags) {
  return flags.depth ? std::min(flags.depth, s.frames.size()) : s.frames.size();
}

std::string share(uint64_t part, uint64_t whole) {
  char buf[16];
  snprintf(buf, sizeof(buf), "%.1f%%", whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0);
  return buf;
}

std::string who(const LeakReport& r) {
  std::string s = "process " + std::to_string(r.pid);
  if (!r.program.empty()) s += " (" + r.program + ")";
  return s;
}

void print_table(const LeakReport& r, const LeaksFlags& flags) {
  printf("Leaks of %s, %s: %s blocks, %s bytes (%s) in %zu sites\n", who(r).c_str(),
         r.when == "request" ? "on request" : "at exit", with_commas(r.total_count).c_str(),
         with_commas(r.total_bytes).c_str(), human_bytes(r.total_bytes).c_str(), r.sites.size());
  if (r.sites.empty()) {
    puts("No live allocations: nothing leaked.");
    return;
  }
  const size_t n = std::min(flags.top, r.sites.size());
  printf("\n%4s %10s %14s %7s  %s\n", "site", "blocks", "bytes", "share", "sizes");
  for (size_t i = 0; i < n; ++i) {
    const LeakSite& s = r.sites[i];
    std::string sizes = s.min_size == s.max_size
                            ? std::to_string(s.min_size)
                            : std::to_string(s.min_size) + "-" + std::to_string(s.max_size);
    printf("%4zu %10s %14s %7s  %s\n", i + 1, with_commas(s.count).c_str(),
           with_commas(s.bytes).c_str(), share(s.bytes, r.total_bytes).c_str(), sizes.c_str());
    const size_t depth = shown_frames(s, flags);
    for (size_t k = 0; k < depth; ++k) printf("       %s\n", long_name(r, s.frames[k]).c_str());
    if (depth < s.frames.size()) printf("       ... %zu more frames\n", s.frames.size() - depth);
    if (s.frames.empty()) puts("       (no stack recorded)");
  }
  if (n < r.sites.size()) {
    uint64_t count = 0, bytes = 0;
    for (size_t i = n; i < r.sites.size(); ++i) {
      count += r.sites[i].count;
      bytes += r.sites[i].bytes;
    }
    printf("\n%zu more sites: %s blocks, %s bytes (%s); --top %zu shows them all\n",
           r.sites.size() - n, with_commas(count).c_str(), with_commas(bytes).c_str(),
           share(bytes, r.total_bytes).c_str(), r.sites.size());
  }
}

// Folded stacks: "outermost;...;innermost BYTES", one line per site. ';' cannot be in a name.
std::string folded_name(const LeakReport& r, const LeakFrame& f) {
  std::string s = short_name(r, f);
  std::replace(s.begin(), s.end(), ';', ':');
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

std::vector<std::string> stack_of(const LeakReport& r, const LeakSite& s, const LeaksFlags& flags) {
  std::vector<std::string> names;  // outermost first
  const size_t depth = shown_frames(s, flags);
  for (size_t k = depth; k-- > 0;) names.push_back(folded_name(r, s.frames[k]));
  if (names.empty()) names.push_back("(no stack)");
  return names;
}

void print_folded(const LeakReport& r, const LeaksFlags& flags) {
  for (const LeakSite& s : r.sites) {
    std::string line;
    for (const std::string& n : stack_of(r, s, flags)) line += (line.empty() ? "" : ";") + n;
    printf("%s %llu\n", line.c_str(), static_cast<unsigned long long>(s.bytes));
  }
}

std::string to_json(const LeakReport& r) {
  JsonWriter w;
  w.begin_object().string("format", "aixmalloc-leaks").number("version", 1);
  w.number("pid", r.pid).number("ppid", r.ppid).string("program", r.program);
  w.string("when", r.when).number("time_ns", r.time_ns).number("stack_depth", r.stack_depth);
  w.boolean("extended", r.extended);
  if (!r.log.empty()) w.string("log", r.log);
  w.begin_array("modules");
  for (const LeakModule& m : r.modules)
    w.begin_object().number("id", m.id).string("path", m.path).string("base", m.base)
        .string("build_id", m.build_id).end_object();
  w.end_array().begin_array("sites");
  for (const LeakSite& s : r.sites) {
    w.begin_object().number("count", s.count).number("bytes", s.bytes);
    w.number("min_size", s.min_size).number("max_size", s.max_size).begin_array("frames");
    for (const LeakFrame& f : s.frames) {
      w.begin_object().string("pc", f.pc);
      if (f.module) w.number("module", *f.module).string("offset", f.offset);
      if (!f.function.empty()) w.string("function", f.function);
      if (!f.file.empty()) w.string("file", f.file).number("line", f.line);
      w.end_object();
    }
    w.end_array().end_object();
  }
  w.end_array().begin_object("total").number("count", r.total_count).number("bytes", r.total_bytes);
  w.number("sites", r.sites.size()).end_object().end_object();
  return w.text() + "\n";
}

int write_svg(const LeakReport& r, const LeaksFlags& flags) {
  FlameGraph g;
  g.title = "Leaks of " + who(r);
  g.subtitle = with_commas(r.total_bytes) + " bytes in " + with_commas(r.total_count) +
               " blocks, " + std::to_string(r.sites.size()) + " sites; width is bytes";
  for (const LeakSite& s : r.sites) {
    g.stacks.push_back(stack_of(r, s, flags));
    g.values.push_back(s.bytes);
  }
  std::string svg = render_flame_graph(g);
  FILE* f = flags.svg == "-" ? stdout : fopen(flags.svg.c_str(), "w");
  if (!f || fwrite(svg.data(), 1, svg.size(), f) != svg.size() || (f != stdout && fclose(f) != 0)) {
    fprintf(stderr, "aixmalloc leaks: cannot write %s: %s\n", flags.svg.c_str(), strerror(errno));
    return kExitFailed;
  }
  return kExitOk;
}

int render(const std::string& text, const LeaksFlags& flags, std::optional<pid_t> asked) {
  LeakReport r;
  std::string error;
  if (!parse_report(text, &r, &error)) {
    fprintf(stderr, "aixmalloc leaks: %s: %s\n", flags.label.c_str(), error.c_str());
    return kExitFailed;
  }
  if (asked && r.pid != static_cast<uint64_t>(*asked)) {
    fprintf(stderr, "aixmalloc leaks: the answer holds the report of process %llu, not %d; not shown\n",
            static_cast<unsigned long long>(r.pid), *asked);
    return kExitFailed;
  }
  if (r.log == "off") {
    fprintf(stderr,
            "aixmalloc leaks: %s records no allocations: start it with "
            "MALLOCDEBUG=report_allocations (or record_allocations, or log) in its environment\n",
            who(r).c_str());
    return kExitFailed;
  }
  symbolize(&r);
  if (flags.json)
    fputs(to_json(r).c_str(), stdout);
  else if (flags.folded)
    print_folded(r, flags);
  else if (flags.svg != "-")
    print_table(r, flags);
  fflush(stdout);
  if (!flags.svg.empty()) return write_svg(r, flags);
  return kExitOk;
}

// A count flag's value: a positive number.
bool count_named(const std::string& text, size_t* out) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  *out = strtoul(text.c_str(), nullptr, 10);
  return *out > 0;
}

}  // namespace

int cmd_leaks(int argc, char** argv) {
  LeaksFlags flags;
  std::string file, pid_text, signal_text, timeout_text, top_text, depth_text;
  bool have_file = false;
  for (int i = 0; i < argc; ++i) {
    std::string_view a = argv[i];
    if (is_help_flag(a)) {
      print_command_help(*find_command("leaks"), stdout);
      return kExitOk;
    }
    bool matched = false;
    for (auto [name, into] :
         {std::pair{"--svg", &flags.svg}, std::pair{"--pid", &pid_text},
          std::pair{"--signal", &signal_text}, std::pair{"--timeout", &timeout_text},
          std::pair{"--top", &top_text}, std::pair{"--depth", &depth_text}}) {
      int found = flag_value(name, argc, argv, &i, into);
      if (found < 0 || (found > 0 && into->empty()))
        return usage_error("leaks", std::string(name) + " needs a value");
      matched = found > 0;
      if (matched) break;
    }
    if (matched) continue;
    if (a == "--json") {
      flags.json = true;
    } else if (a == "--folded") {
      flags.folded = true;
    } else if (a.size() > 1 && a[0] == '-') {
      return usage_error("leaks", "unknown flag '" + std::string(a) + "'");
    } else if (have_file) {
      return usage_error("leaks", "one FILE only");
    } else {
      file = std::string(a);
      have_file = true;
    }
  }
  if (flags.json && flags.folded) return usage_error("leaks", "--json or --folded, not both");
  if ((flags.json || flags.folded) && flags.svg == "-")
    return usage_error("leaks", "--svg - writes standard output, which --json and --folded use");
  if (!top_text.empty() && !count_named(top_text, &flags.top))
    return usage_error("leaks", "--top needs a positive number, not '" + top_text + "'");
  if (!depth_text.empty() && !count_named(depth_text, &flags.depth))
    return usage_error("leaks", "--depth needs a positive number, not '" + depth_text + "'");

  if (pid_text.empty()) {
    if (!signal_text.empty() || !timeout_text.empty())
      return usage_error("leaks", "--signal and --timeout go with --pid");
    if (!have_file) return usage_error("leaks", "no FILE given (or --pid PID)");
    flags.label = file == "-" ? "standard input" : file;
    std::string text, error;
    if (!read_all(file, &text, &error)) {
      fprintf(stderr, "aixmalloc leaks: cannot read %s: %s\n", file.c_str(), error.c_str());
      return kExitFailed;
    }
    return render(text, flags, std::nullopt);
  }
  if (have_file) return usage_error("leaks", "give a FILE or --pid, not both");
  LiveRequest request;
  request.document = LiveDocument::kLeaks;
  if (int status = live_request_flags("leaks", pid_text, signal_text, timeout_text, &request);
      status != kExitOk)
    return status;
  LiveAnswer answer;
  if (int status = ask_process(request, &answer); status != kExitOk) return status;
  flags.label = "process " + std::to_string(request.pid);
  return render(answer.document, flags, request.pid);
}

}  // namespace aixmalloc::cli
