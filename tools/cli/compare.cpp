// `aixmalloc compare`: runs a command under several configurations in rounds (a new random order
// each), measures wall time, peak RSS and the allocator's documents of each run, adds rounds until
// the comparisons are settled (or the budget is spent), and shows its progress on a terminal.
#include "tools/cli/compare.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <random>

#include "tools/cli/cli.h"

namespace aixmalloc::cli {

const char* const kDefaultConfigs[] = {"Yorktown",
                                       "watson",
                                       "3.1_64BIT",
                                       "watson+pool,multiheap",
                                       "watson2",
                                       "default+buckets",
                                       "default+multiheap+disclaim",
                                       "glibc"};
const size_t kDefaultConfigCount = sizeof(kDefaultConfigs) / sizeof(kDefaultConfigs[0]);

namespace {

bool names_option(std::string_view word) {
  word = word.substr(0, word.find(':'));
  for (const OptionSpec& o : kOptions)
    if (word == o.name()) return true;
  return false;
}

// A configuration starts at "default", "glibc" or a MALLOCTYPE value; an item that names an option
// continues the configuration before it (so "watson+pool,multiheap" is one configuration). The
// MALLOCTYPE value is then the runtime parser's to judge, as `check` does: a policy, debug,
// buckets, user:NAME.
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
    std::string head = item.substr(0, item.find('+'));
    std::string rest = item.find('+') == std::string::npos ? "" : item.substr(item.find('+') + 1);
    std::replace(rest.begin(), rest.end(), '+', ',');
    if (out->empty() || head == "default" || head == "glibc" || !names_option(head)) {
      Configuration c;
      c.name = item;
      c.glibc = head == "glibc";
      if (head != "default" && !c.glibc) c.type = head;
      c.options = rest;
      out->push_back(c);
    } else {
      out->back().name += "," + item;
      out->back().options +=
          (out->back().options.empty() ? "" : ",") + head + (rest.empty() ? "" : "," + rest);
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

// The environment of a run: ours without any malloc variable, then the configuration's. Every
// process of the run writes its own document (%p) into the run's directory.
std::vector<std::string> environment_for(const Configuration& c, const std::string& lib,
                                         const std::string& reports) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view entry = *e;
    std::string_view name = entry.substr(0, entry.find('='));
    if (variable_named(name) || (name == "LD_PRELOAD" && !c.glibc)) continue;
    env.emplace_back(entry);
  }
  if (c.glibc) return env;
  env.push_back("LD_PRELOAD=" + preload_value(lib));
  if (!c.type.empty())
    env.push_back(std::string(spec(Variable::kMallocType).name()) + "=" + c.type);
  if (!c.options.empty())
    env.push_back(std::string(spec(Variable::kMallocOptions).name()) + "=" + c.options);
  env.push_back(std::string(spec(Variable::kAixmallocStatsJson).name()) + "=" + reports +
                "/stats.%p.json");
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

std::string duration_text(double s) {
  char buf[32];
  long t = std::max(1L, static_cast<long>(s + 0.5));
  if (t < 60)
    snprintf(buf, sizeof(buf), "%ld s", t);
  else if (t < 3600)
    snprintf(buf, sizeof(buf), "%ld min %02ld s", t / 60, t % 60);
  else
    snprintf(buf, sizeof(buf), "%ld h %02ld min", t / 3600, t / 60 % 60);
  return buf;
}

// The progress line (a terminal only): the round, the configuration, the time left. The time
// of a run not yet measured is the mean of those measured.
class Progress {
 public:
  Progress(const std::vector<Configuration>& c, const CompareFlags& f, const Plan& p)
      : configs_(c),
        flags_(f),
        plan_(p),
        shown_(isatty(STDERR_FILENO)),
        spent_(c.size(), 0),
        runs_(c.size(), 0) {}
  void ran(size_t c, double seconds) {
    spent_[c] += seconds;
    ++runs_[c];
  }
  void show(int round, size_t at, const std::vector<size_t>& order, double elapsed) {
    if (!shown_) return;
    double known = 0;
    int measured = 0;
    for (size_t c = 0; c < configs_.size(); ++c)
      if (runs_[c]) known += spent_[c] / runs_[c], ++measured;
    std::string left = "estimating the time left";
    if (measured) {
      double guess = known / measured, per_round = 0, this_round = 0;
      for (size_t c = 0; c < configs_.size(); ++c)
        per_round += runs_[c] ? spent_[c] / runs_[c] : guess;
      for (size_t i = at; i < order.size(); ++i)
        this_round += runs_[order[i]] ? spent_[order[i]] / runs_[order[i]] : guess;
      int floor_rounds = flags_.runs ? flags_.runs : plan_.min_runs;
      int ceiling = flags_.runs ? flags_.runs : flags_.max_runs;
      double least = this_round + std::max(0, floor_rounds - round - 1) * per_round;
      left = "about " + duration_text(least) + " left";
      double most = this_round + std::max(0, ceiling - round - 1) * per_round;
      most = std::max(least, std::min(most, flags_.budget - elapsed + per_round));
      if (most > least * 1.1 + 1) left += ", up to " + duration_text(most) + " if they stay close";
    }
    std::string total =
        flags_.runs ? std::to_string(flags_.runs)
                    : std::to_string(plan_.min_runs) + " to " + std::to_string(flags_.max_runs);
    fprintf(stderr, "\r\033[Kcompare: run %d of %s, %s (%zu of %zu): %s", round + 1, total.c_str(),
            configs_[order[at]].name.c_str(), at + 1, order.size(), left.c_str());
    fflush(stderr);
  }
  void clear() {
    if (shown_) fputs("\r\033[K", stderr);
  }

 private:
  const std::vector<Configuration>& configs_;
  const CompareFlags& flags_;
  const Plan& plan_;
  bool shown_;
  std::vector<double> spent_;
  std::vector<int> runs_;
};

bool parse_number(const std::string& v, double low, double high, double* out) {
  char* end;
  errno = 0;
  double n = strtod(v.c_str(), &end);
  if (v.empty() || *end || errno || !(n >= low && n <= high)) return false;
  *out = n;
  return true;
}

// Parses compare's flags up to the command; returns -1 when they are fine, else the exit status.
int parse_flags(int argc, char** argv, int* i, CompareFlags* flags) {
  for (; *i < argc; ++*i) {
    std::string_view a = argv[*i];
    if (a == "--") {
      ++*i;
      break;
    }
    if (is_help_flag(a)) {
      print_command_help(*find_command("compare"), stdout);
      return kExitOk;
    }
    std::string v;
    double n = 0;
    auto numeric = [&](const char* name, double low, double high, const char* what) {
      int got = flag_value(name, argc, argv, i, &v);
      if (got < 0) return usage_error("compare", std::string(name) + " needs " + what);
      if (got > 0 && !parse_number(v, low, high, &n))
        return usage_error("compare", std::string(name) + ": '" + v + "' is not " + what);
      return got > 0 ? -1 : -2;
    };
    int r;
    if (int got = flag_value("--configs", argc, argv, i, &v); got != 0) {
      if (got < 0) return usage_error("compare", "--configs needs a list");
      flags->configs.push_back(v);
    } else if ((r = numeric("--runs", 1, 1000, "a number from 1 to 1000")) != -2) {
      if (r >= 0) return r;
      flags->runs = static_cast<int>(n);
      if (n != flags->runs)
        return usage_error("compare", "--runs: '" + v + "' is not a whole number");
    } else if ((r = numeric("--max-runs", 2, 1000, "a number from 2 to 1000")) != -2) {
      if (r >= 0) return r;
      flags->max_runs = static_cast<int>(n);
    } else if ((r = numeric("--budget", 1, 1e6, "a number of seconds from 1 to 1000000")) != -2) {
      if (r >= 0) return r;
      flags->budget = n;
    } else if ((r = numeric("--confidence", 50, 99.99, "a percentage from 50 to 99.99")) != -2) {
      if (r >= 0) return r;
      flags->confidence = n / 100;
    } else if (int got = flag_value("--by", argc, argv, i, &v); got != 0) {
      if (got < 0 || (v != "time" && v != "rss"))
        return usage_error("compare", "--by takes time or rss");
      flags->by_rss = v == "rss";
    } else if (int got = flag_value("--stdin", argc, argv, i, &v); got != 0) {
      if (got < 0) return usage_error("compare", "--stdin needs a file");
      flags->stdin_file = v;
    } else if (!a.empty() && a[0] == '-') {
      return usage_error("compare", "unknown flag '" + std::string(a) + "'");
    } else {
      break;
    }
  }
  return -1;
}

}  // namespace

int cmd_compare(int argc, char** argv) {
  CompareFlags flags;
  int i = 0;
  if (int status = parse_flags(argc, argv, &i, &flags); status >= 0) return status;
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
  std::string reports = dir + "/run", err = dir + "/stderr";
  mkdir(reports.c_str(), 0700);
  auto clean_up = [&] {
    RunFigures ignored;
    read_run_reports(reports, &ignored);
    rmdir(reports.c_str()), unlink(err.c_str()), rmdir(dir.c_str());
  };

  printf("Command: %s%s%s\n", command_text(cmd_argc, cmd).c_str(),
         flags.stdin_file == "/dev/null" ? "" : " < ",
         flags.stdin_file == "/dev/null" ? "" : flags.stdin_file.c_str());
  fflush(stdout);
  Plan plan = plan_for(configs, flags);
  std::vector<Measures> measures(configs.size());
  Progress progress(configs, flags, plan);
  std::vector<size_t> order(configs.size());
  for (size_t c = 0; c < order.size(); ++c) order[c] = c;
  std::mt19937 shuffle_with(static_cast<unsigned>(now() * 1e6) ^ static_cast<unsigned>(getpid()));
  int exit_status = kExitOk, rounds = 0;
  Stop stop = Stop::kFixed;
  double start = now();
  while (true) {
    std::shuffle(order.begin(), order.end(), shuffle_with);
    for (size_t at = 0; at < order.size(); ++at) {
      size_t c = order[at];
      progress.show(rounds, at, order, now() - start);
      RunResult r = run_once(cmd, environment_for(configs[c], lib, reports), flags.stdin_file, err);
      if (r.exec_errno) {
        progress.clear();
        fprintf(stderr, "aixmalloc compare: cannot run '%s': %s\n", cmd[0], strerror(r.exec_errno));
        clean_up();
        return r.exec_errno == ENOENT ? 127 : 126;
      }
      progress.ran(c, r.seconds);
      Measures& m = measures[c];
      std::string errors = read_file(err);
      for (size_t at_line = 0;
           (at_line = errors.find("aixmalloc: ", at_line)) != std::string::npos;) {
        if (at_line == 0 || errors[at_line - 1] == '\n')
          m.diagnostics.insert(errors.substr(at_line, errors.find('\n', at_line) - at_line));
        at_line += 11;
      }
      RunFigures figures;
      bool documents = read_run_reports(reports, &figures);
      if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
        ++m.failures;
        exit_status = kExitFailed;
        progress.clear();
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
      m.rss_kib.push_back(static_cast<double>(r.rss_kib));
      if (documents && !configs[c].glibc) m.figures.push_back(figures);
    }
    ++rounds;
    if (flags.runs) {
      if (rounds >= flags.runs) break;
      continue;
    }
    if (rounds < plan.min_runs) continue;
    double per_round = (now() - start) / rounds;
    if (settled(configs, measures, plan, flags.by_rss)) {
      stop = Stop::kSettled;
    } else if (rounds >= flags.max_runs) {
      stop = Stop::kMaxRuns;
    } else if (now() - start + per_round > flags.budget) {
      stop = Stop::kBudget;
    } else {
      continue;
    }
    break;
  }
  progress.clear();
  clean_up();

  print_results(configs, measures, flags, plan, rounds, stop);
  for (size_t c = 0; c < configs.size(); ++c)
    for (const std::string& d : measures[c].diagnostics)
      printf("Note: under %s the runtime said: %s\n", configs[c].name.c_str(), d.c_str());
  return exit_status;
}

}  // namespace aixmalloc::cli
