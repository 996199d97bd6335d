// `aixmalloc compare`: runs a command under several configurations (fork, exec, wait4), several
// times each and interleaved, so that a drift of the machine spreads over every configuration. Each
// run's wall time comes from the monotonic clock around fork..wait4, its peak RSS from wait4's
// rusage, and the allocator's figures from the AIXMALLOC_STATS_JSON document it writes at exit
// (read through the table of figures, as `aixmalloc stats` reads it).
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "tools/cli/advice.h"
#include "tools/cli/cli.h"
#include "tools/cli/dump.h"

namespace aixmalloc::cli {

const char* const kDefaultConfigs[] = {"Yorktown",
                                       "watson",
                                       "3.1_64BIT",
                                       "watson+pool,multiheap",
                                       "default+buckets",
                                       "default+multiheap+disclaim",
                                       "glibc"};
const size_t kDefaultConfigCount = sizeof(kDefaultConfigs) / sizeof(kDefaultConfigs[0]);

namespace {

struct Configuration {
  std::string name;     // as written in the list
  bool glibc = false;   // no preload: the reference
  std::string type;     // MALLOCTYPE; empty: unset
  std::string options;  // MALLOCOPTIONS; empty: unset
  Config parsed;        // what the runtime will make of it
};

struct Measures {
  std::vector<double> seconds;
  std::vector<long> rss_kib;
  std::vector<uint64_t> heap_allocs, lockfree_allocs, acquired;
  bool have_figures = false;
  int failures = 0;
  std::set<std::string> diagnostics;  // the runtime's "aixmalloc: " lines
};

struct CompareFlags {
  std::vector<std::string> configs;
  int runs = 3;
  bool by_rss = false;
  std::string stdin_file = "/dev/null";
};

// A configuration starts at a MALLOCTYPE value, "default" or "glibc"; any other item of the list
// continues the one before it (so "watson+pool,multiheap" is one configuration).
bool starts_configuration(std::string_view item) {
  std::string_view head = item.substr(0, item.find('+'));
  return policy_named(head) || head == "default" || head == "glibc";
}

bool parse_configurations(const std::vector<std::string>& words, std::vector<Configuration>* out,
                          std::string* error) {
  std::vector<std::string> items;
  for (const std::string& w : words) {
    size_t start = 0;
    while (start <= w.size()) {
      size_t end = w.find_first_of(",; \t\n", start);
      if (end == std::string::npos) end = w.size();
      if (end > start) items.push_back(w.substr(start, end - start));
      start = end + 1;
    }
  }
  for (const std::string& item : items) {
    std::string rest = item.find('+') == std::string::npos ? "" : item.substr(item.find('+') + 1);
    std::replace(rest.begin(), rest.end(), '+', ',');
    if (starts_configuration(item)) {
      Configuration c;
      c.name = item;
      std::string head = item.substr(0, item.find('+'));
      c.glibc = head == "glibc";
      if (head != "default" && !c.glibc) c.type = head;
      c.options = rest;
      out->push_back(c);
    } else if (out->empty()) {
      *error = "'" + item + "' is not a MALLOCTYPE value, 'default' or 'glibc'";
      return false;
    } else {
      out->back().name += "," + item;
      out->back().options += (out->back().options.empty() ? "" : ",") +
                             (rest.empty() ? item : item.substr(0, item.find('+')) + "," + rest);
    }
  }
  if (out->empty()) {
    *error = "no configuration given";
    return false;
  }
  // The runtime's parser on each: a configuration it would correct is refused here.
  for (Configuration& c : *out) {
    if (c.glibc && !c.options.empty()) {
      *error = "'" + c.name + "': glibc takes no options";
      return false;
    }
    RawVariables raw;
    if (!c.type.empty()) raw[Variable::kMallocType] = c.type.c_str();
    if (!c.options.empty()) raw[Variable::kMallocOptions] = c.options.c_str();
    parse_config(raw, ParseContext{}, &c.parsed);
    if (c.parsed.diagnostics.total()) {
      *error = "'" + c.name + "': " + c.parsed.diagnostics.lines[0];
      return false;
    }
  }
  return true;
}

double now() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::string read_file(const std::string& path) {
  std::string s;
  if (FILE* f = fopen(path.c_str(), "rb")) {
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) s.append(buf, n);
    fclose(f);
  }
  return s;
}

// The environment of a run: ours without any malloc variable, then the configuration's.
std::vector<std::string> environment_for(const Configuration& c, const std::string& lib,
                                         const std::string& json) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view entry = *e;
    std::string_view name = entry.substr(0, entry.find('='));
    if (variable_named(name) || (name == "LD_PRELOAD" && !c.glibc)) continue;
    env.emplace_back(entry);
  }
  if (c.glibc) return env;
  env.push_back("LD_PRELOAD=" + preload_value(lib));
  if (!c.type.empty()) env.push_back(std::string(spec(Variable::kMallocType).name) + "=" + c.type);
  if (!c.options.empty())
    env.push_back(std::string(spec(Variable::kMallocOptions).name) + "=" + c.options);
  env.push_back(std::string(spec(Variable::kAixmallocStatsJson).name) + "=" + json);
  return env;
}

struct RunResult {
  double seconds = 0;
  long rss_kib = 0;
  int status = 0;
  int exec_errno = 0;  // the command could not be started
};

RunResult run_once(char** argv, const std::vector<std::string>& env, const std::string& stdin_file,
                   const std::string& stderr_file) {
  std::vector<char*> envp;
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  int report[2];
  RunResult r;
  if (pipe2(report, O_CLOEXEC) != 0) {
    r.exec_errno = errno;
    return r;
  }
  fflush(nullptr);
  double start = now();
  pid_t pid = fork();
  if (pid == 0) {
    close(report[0]);
    int in = open(stdin_file.c_str(), O_RDONLY);
    int out = open("/dev/null", O_WRONLY);
    int err = open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) {
      int e = errno;
      (void)!write(report[1], &e, sizeof(e));
      _exit(127);
    }
    execvpe(argv[0], argv, envp.data());
    int e = errno;
    (void)!write(report[1], &e, sizeof(e));
    _exit(127);
  }
  close(report[1]);
  if (pid < 0) {
    r.exec_errno = errno;
    close(report[0]);
    return r;
  }
  int e = 0;
  if (read(report[0], &e, sizeof(e)) == static_cast<ssize_t>(sizeof(e))) r.exec_errno = e;
  close(report[0]);
  struct rusage ru;
  while (wait4(pid, &r.status, 0, &ru) < 0 && errno == EINTR) {
  }
  r.seconds = now() - start;
  r.rss_kib = ru.ru_maxrss;
  return r;
}

std::string status_text(int status) {
  if (WIFSIGNALED(status))
    return std::string("was killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

// The allocator's figures of one run: the JSON documents of every process of the command
// (`pattern` has %p), added up as `aixmalloc stats --sum` adds them.
bool figures_of(const std::string& pattern, Measures* m) {
  std::vector<Dump> documents;
  for (const std::string& file : report_files(pattern)) {
    Dump one;
    std::string error;
    bool json = parse_dump(read_file(file), &one, &error) && one.formats.size() == 1 &&
                one.formats[0] == "JSON";
    if (json) documents.push_back(std::move(one));
  }
  if (documents.empty()) return false;
  Dump d = sum_dumps(documents);
  uint64_t heap = 0, lockfree = 0, acquired = 0;
  for (const Figures& h : d.rows(SectionId::kHeap))
    heap += h.get(&HeapFigures::allocations).value_or(0);
  const Figures* large = d.one(SectionId::kLarge);
  if (large) heap += large->get(&LargeFigures::allocations).value_or(0);
  for (const Figures& c : d.rows(SectionId::kPoolClass))
    lockfree += c.get(&PoolClassFigures::allocations).value_or(0);
  if (const Figures* tc = d.one(SectionId::kThreadCache))
    lockfree += tc->get(&ThreadCacheFigures::hits).value_or(0);
  // Heaps and pool pages never shrink, so at exit they are at their peak; large blocks come and go.
  if (const Figures* totals = d.one(SectionId::kProcess))
    acquired = totals->get(&ProcessFigures::acquired).value_or(0);
  if (large) {
    uint64_t now = large->get(&LargeFigures::bytes).value_or(0);
    acquired =
        acquired - std::min(acquired, now) + large->get(&LargeFigures::max_bytes).value_or(0);
  }
  m->heap_allocs.push_back(heap);
  m->lockfree_allocs.push_back(lockfree);
  m->acquired.push_back(acquired);
  return true;
}

// Columns of the table count characters, not bytes ("±" is two bytes of UTF-8).
size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

template <typename T>
T median(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  if (v.size() % 2) return v[v.size() / 2];
  return (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

std::string seconds_text(double s) {
  char buf[32];
  snprintf(buf, sizeof(buf), s < 10 ? "%.3f s" : "%.2f s", s);
  return buf;
}

std::string command_text(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    bool plain = !a.empty() && a.find_first_of(" \t\n'\"\\$`*?;&|<>()") == std::string::npos;
    std::string shown;
    for (char ch : a)
      shown += ch == '\n'   ? std::string("\\n")
               : ch == '\t' ? std::string("\\t")
                            : std::string(1, ch);
    s += (i ? " " : "") + (plain ? shown : "'" + shown + "'");
    if (s.size() > 70) return s.substr(0, 67) + "...";
  }
  return s;
}

std::string variables_text(const Configuration& c) {
  if (c.glibc) return "no preload";
  std::string s;
  if (!c.type.empty()) s += std::string(spec(Variable::kMallocType).name) + "=" + c.type;
  if (!c.options.empty())
    s += std::string(s.empty() ? "" : " ") + spec(Variable::kMallocOptions).name + "=" + c.options;
  return s.empty() ? "the default configuration (no variable set)" : s;
}

std::string run_command(const Configuration& c) {
  std::string s = "aixmalloc run";
  if (!c.type.empty()) s += " --type " + c.type;
  if (!c.options.empty()) s += " --options " + c.options;
  return s + " -- CMD";
}

void print_results(const std::vector<Configuration>& configs, const std::vector<Measures>& m,
                   const CompareFlags& flags) {
  // Marks: the fastest and the leanest of the aixmalloc configurations that ran every time.
  int fastest = -1, leanest = -1, glibc = -1, baseline = -1;
  for (size_t i = 0; i < configs.size(); ++i) {
    if (m[i].seconds.empty() || m[i].failures) continue;
    if (configs[i].glibc) {
      if (glibc < 0) glibc = static_cast<int>(i);
      continue;
    }
    if (baseline < 0 && configs[i].options.empty() &&
        (configs[i].type.empty() || policy_named(configs[i].type) == Policy::kYorktown))
      baseline = static_cast<int>(i);
    if (fastest < 0 || median(m[i].seconds) < median(m[fastest].seconds))
      fastest = static_cast<int>(i);
    if (leanest < 0 || median(m[i].rss_kib) < median(m[leanest].rss_kib))
      leanest = static_cast<int>(i);
  }
  std::vector<std::string> headers = {"Configuration",    "Wall (median)", "Spread",
                                      "vs glibc",         "Peak RSS",      "Heap allocs",
                                      "Lock-free allocs", "Acquired",      ""};
  // Spread needs two runs; "vs glibc" needs glibc among the configurations.
  std::vector<bool> shown(headers.size(), true);
  shown[2] = flags.runs > 1;
  shown[3] = glibc >= 0;
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
    double med = median(x.seconds);
    auto [lo, hi] = std::minmax_element(x.seconds.begin(), x.seconds.end());
    char buf[32];
    r.push_back(seconds_text(med));
    snprintf(buf, sizeof(buf), "±%.0f%%", med > 0 ? 50.0 * (*hi - *lo) / med : 0.0);
    r.push_back(x.seconds.size() > 1 ? buf : "");
    snprintf(buf, sizeof(buf), "%.2fx", glibc >= 0 ? med / median(m[glibc].seconds) : 0.0);
    r.push_back(glibc >= 0 ? buf : "");
    r.push_back(human_bytes(static_cast<uint64_t>(median(x.rss_kib)) * 1024));
    r.push_back(x.have_figures ? with_commas(median(x.heap_allocs)) : "-");
    r.push_back(x.have_figures ? with_commas(median(x.lockfree_allocs)) : "-");
    r.push_back(x.have_figures ? human_bytes(median(x.acquired)) : "-");
    std::string marks;
    if (static_cast<int>(i) == fastest) marks = "fastest";
    if (static_cast<int>(i) == leanest) marks += marks.empty() ? "leanest" : ", leanest";
    if (x.failures)
      marks = std::to_string(x.failures) + " of " + std::to_string(flags.runs) + " runs failed";
    r.push_back(marks);
    rows.push_back(r);
  }
  // The table: first column left-aligned, the others right-aligned, the marks left-aligned.
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

  int best = flags.by_rss ? leanest : fastest;
  if (best < 0) {
    puts("\nNo aixmalloc configuration ran successfully; nothing to recommend.");
    return;
  }
  const Configuration& b = configs[best];
  double best_time = median(m[best].seconds);
  long best_rss = median(m[best].rss_kib);
  std::string why;
  if (flags.by_rss) {
    why = "the leanest, " + human_bytes(static_cast<uint64_t>(best_rss) * 1024) + " peak RSS";
  } else {
    why = "the fastest, " + seconds_text(best_time) + " median";
    if (baseline >= 0 && baseline != best) {
      double base = median(m[baseline].seconds);
      char buf[64];
      snprintf(buf, sizeof(buf), ", %.0f%% %s than %s", fabs(100.0 * (base - best_time) / base),
               best_time <= base ? "faster" : "slower", configs[baseline].name.c_str());
      why += buf;
    }
  }
  printf("\nRecommended: %s (%s), %s.\n", b.name.c_str(), variables_text(b).c_str(), why.c_str());
  printf("  %s\n", run_command(b).c_str());
  if (const Advice* a = advice_for(b.parsed, flags.by_rss))
    printf("AIX tuning advice (%s): %s.\n", a->workload, a->advice);
  // Honesty about noise and about the reference.
  for (size_t i = 0; i < configs.size(); ++i) {
    if (static_cast<int>(i) == best || configs[i].glibc || m[i].seconds.empty() || m[i].failures)
      continue;
    double mine = flags.by_rss ? median(m[i].rss_kib) : median(m[i].seconds);
    double theirs = flags.by_rss ? best_rss : best_time;
    if (theirs > 0 && mine <= theirs * 1.02) {
      printf("Note: %s is within 2%% of it; more --runs would separate them.\n",
             configs[i].name.c_str());
      break;
    }
  }
  if (glibc >= 0) {
    bool glibc_better =
        flags.by_rss ? median(m[glibc].rss_kib) < best_rss : median(m[glibc].seconds) < best_time;
    if (glibc_better)
      printf("Note: glibc's malloc (no preload) did better still: %s.\n",
             flags.by_rss
                 ? human_bytes(static_cast<uint64_t>(median(m[glibc].rss_kib)) * 1024).c_str()
                 : seconds_text(median(m[glibc].seconds)).c_str());
  }
}

}  // namespace

int cmd_compare(int argc, char** argv) {
  CompareFlags flags;
  int i = 0;
  auto value = [&](const char* flag, std::string* out) {
    std::string_view a = argv[i];
    size_t n = strlen(flag);
    if (a.size() > n && a[n] == '=') {
      *out = std::string(a.substr(n + 1));
      return true;
    }
    if (i + 1 >= argc) return false;
    *out = argv[++i];
    return true;
  };
  for (; i < argc; ++i) {
    std::string_view a = argv[i];
    std::string v;
    auto is = [&](const char* flag) {
      size_t n = strlen(flag);
      return a == flag || (a.size() > n && a.compare(0, n, flag) == 0 && a[n] == '=');
    };
    if (a == "--") {
      ++i;
      break;
    }
    if (is_help_flag(a)) {
      print_command_help(*find_command("compare"), stdout);
      return kExitOk;
    } else if (is("--configs")) {
      if (!value("--configs", &v)) return usage_error("compare", "--configs needs a list");
      flags.configs.push_back(v);
    } else if (is("--runs")) {
      if (!value("--runs", &v)) return usage_error("compare", "--runs needs a number");
      char* end;
      long n = strtol(v.c_str(), &end, 10);
      if (*end || n < 1 || n > 1000)
        return usage_error("compare", "--runs: '" + v + "' is not a number from 1 to 1000");
      flags.runs = static_cast<int>(n);
    } else if (is("--by")) {
      if (!value("--by", &v) || (v != "time" && v != "rss"))
        return usage_error("compare", "--by takes time or rss");
      flags.by_rss = v == "rss";
    } else if (is("--stdin")) {
      if (!value("--stdin", &v)) return usage_error("compare", "--stdin needs a file");
      flags.stdin_file = v;
    } else if (!a.empty() && a[0] == '-') {
      return usage_error("compare", "unknown flag '" + std::string(a) + "'");
    } else {
      break;
    }
  }
  if (i >= argc) return usage_error("compare", "no command given");
  char** cmd = argv + i;
  int cmd_argc = argc - i;

  std::vector<Configuration> configs;
  std::string error;
  if (flags.configs.empty())
    flags.configs.assign(kDefaultConfigs, kDefaultConfigs + kDefaultConfigCount);
  if (!parse_configurations(flags.configs, &configs, &error)) return usage_error("compare", error);
  if (access(flags.stdin_file.c_str(), R_OK) != 0)
    return usage_error("compare", "cannot read " + flags.stdin_file + ": " + strerror(errno));
  std::string lib = find_library();
  if (lib.empty()) {
    fprintf(stderr, "aixmalloc compare: cannot find libaixmalloc.so (set AIXMALLOC_LIBRARY)\n");
    return 127;
  }
  const char* tmp = getenv("TMPDIR");
  std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/aixmalloc-compare.XXXXXX";
  if (!mkdtemp(dir.data())) {
    fprintf(stderr, "aixmalloc compare: cannot create a directory under %s: %s\n",
            tmp && *tmp ? tmp : "/tmp", strerror(errno));
    return kExitFailed;
  }
  // One document per process of the command (a driver and the programs it runs).
  std::string json = dir + "/stats.%p.json", err = dir + "/stderr";
  auto remove_documents = [&] {
    for (const std::string& file : report_files(json)) unlink(file.c_str());
  };

  printf(
      "Command: %s%s%s\n%d run%s of each configuration, interleaved; allocator figures from "
      "AIXMALLOC_STATS_JSON.\n\n",
      command_text(cmd_argc, cmd).c_str(), flags.stdin_file == "/dev/null" ? "" : " < ",
      flags.stdin_file == "/dev/null" ? "" : flags.stdin_file.c_str(), flags.runs,
      flags.runs == 1 ? "" : "s");
  fflush(stdout);
  std::vector<Measures> measures(configs.size());
  bool progress = isatty(STDERR_FILENO);
  int total = flags.runs * static_cast<int>(configs.size()), done = 0;
  int exit_status = kExitOk;
  for (int run = 0; run < flags.runs; ++run) {
    for (size_t c = 0; c < configs.size(); ++c) {
      if (progress)
        fprintf(stderr, "\r\033[Krun %d/%d: %s", ++done, total, configs[c].name.c_str());
      remove_documents();
      RunResult r = run_once(cmd, environment_for(configs[c], lib, json), flags.stdin_file, err);
      if (r.exec_errno) {
        if (progress) fputs("\r\033[K", stderr);
        fprintf(stderr, "aixmalloc compare: cannot run '%s': %s\n", cmd[0], strerror(r.exec_errno));
        remove_documents(), unlink(err.c_str()), rmdir(dir.c_str());
        return r.exec_errno == ENOENT ? 127 : 126;
      }
      Measures& m = measures[c];
      std::string errors = read_file(err);
      for (size_t at = 0; (at = errors.find("aixmalloc: ", at)) != std::string::npos;) {
        if (at == 0 || errors[at - 1] == '\n')
          m.diagnostics.insert(errors.substr(at, errors.find('\n', at) - at));
        at += 11;
      }
      if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
        ++m.failures;
        exit_status = kExitFailed;
        if (progress) fputs("\r\033[K", stderr);
        // The command's standard error, the first time it fails under this configuration.
        std::string tail = m.failures > 1        ? ""
                           : errors.size() > 600 ? "..." + errors.substr(errors.size() - 600)
                                                 : errors;
        fprintf(stderr, "aixmalloc compare: under %s the command %s%s%s", configs[c].name.c_str(),
                status_text(r.status).c_str(), tail.empty() ? "" : "; its standard error:\n",
                tail.c_str());
        if (tail.empty() || tail.back() != '\n') fputc('\n', stderr);
        continue;
      }
      m.seconds.push_back(r.seconds);
      m.rss_kib.push_back(r.rss_kib);
      if (!configs[c].glibc && figures_of(json, &m)) m.have_figures = true;
    }
  }
  if (progress) fputs("\r\033[K", stderr);
  remove_documents(), unlink(err.c_str()), rmdir(dir.c_str());

  print_results(configs, measures, flags);
  for (size_t c = 0; c < configs.size(); ++c)
    for (const std::string& d : measures[c].diagnostics)
      printf("Note: under %s the runtime said: %s\n", configs[c].name.c_str(), d.c_str());
  return exit_status;
}

}  // namespace aixmalloc::cli
