// `aixmalloc run`: sets the variables, preloads libaixmalloc.so and replaces itself with the
// command, so the command's exit status and signals are aixmalloc's. Also the library lookup and
// the environment helpers that `compare` shares.
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/cli/cli.h"

namespace aixmalloc::cli {

namespace {

bool is_file(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// run's flags: each sets one variable of the table. --disclaim takes no value
// (MALLOCDISCLAIM=true).
struct RunFlag {
  const char* flag;
  Variable variable;
  bool takes_value;
};
constexpr RunFlag kRunFlags[] = {
    {"--type", Variable::kMallocType, true},
    {"--options", Variable::kMallocOptions, true},
    {"--buckets", Variable::kMallocBuckets, true},
    {"--multiheap", Variable::kMallocMultiheap, true},
    {"--disclaim", Variable::kMallocDisclaim, false},
    {"--debug", Variable::kMallocDebug, true},
    {"--stats", Variable::kAixmallocStats, true},
    {"--json", Variable::kAixmallocStatsJson, true},
    {"--stats-signal", Variable::kAixmallocStatsSignal, true},
};

}  // namespace

std::string find_library(std::string* problem) {
  if (const char* env = getenv("AIXMALLOC_LIBRARY"); env && *env) {
    // The loader would only warn and run the command without it: refuse here instead.
    struct stat st;
    const char* why = nullptr;
    if (stat(env, &st) != 0)
      why = strerror(errno);
    else if (!S_ISREG(st.st_mode))
      why = "not a regular file";
    else if (access(env, R_OK) != 0)
      why = strerror(errno);
    if (why == nullptr) return env;
    if (problem) *problem = std::string("AIXMALLOC_LIBRARY=") + env + ": " + why;
    return {};
  }
  std::vector<std::string> candidates;
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    self[n] = '\0';
    std::string dir(self);
    dir.erase(dir.rfind('/'));
    candidates.push_back(dir + "/libaixmalloc.so");
    candidates.push_back(dir + "/../lib/libaixmalloc.so");
  }
  candidates.push_back(std::string(AIXMALLOC_INSTALL_LIBDIR) + "/libaixmalloc.so");
  for (const std::string& c : candidates) {
    if (!is_file(c)) continue;
    char real[PATH_MAX];
    return realpath(c.c_str(), real) ? std::string(real) : c;
  }
  return {};
}

void clear_malloc_variables() {
  for (const VariableSpec& v : kVariables) unsetenv(v.name());
}

std::string preload_value(const std::string& lib) {
  const char* old = getenv("LD_PRELOAD");
  return old && *old ? lib + ":" + old : lib;
}

int cmd_run(int argc, char** argv) {
  int i = 0;
  for (; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (is_help_flag(a)) {
      print_command_help(*find_command("run"), stdout);
      return kExitOk;
    }
    if (a.empty() || a[0] != '-') break;  // the command starts here
    const RunFlag* flag = nullptr;
    std::string value;
    for (const RunFlag& f : kRunFlags) {
      size_t n = strlen(f.flag);
      if (a == f.flag) {
        flag = &f;
        if (!f.takes_value) {
          value = "true";
        } else if (i + 1 < argc) {
          value = argv[++i];
        } else {
          return usage_error("run", std::string(f.flag) + " needs a value");
        }
      } else if (f.takes_value && a.size() > n && a.compare(0, n, f.flag) == 0 && a[n] == '=') {
        flag = &f;
        value = std::string(a.substr(n + 1));
      }
      if (flag) break;
    }
    if (!flag) return usage_error("run", "unknown flag '" + std::string(a) + "'");
    setenv(spec(flag->variable).name(), value.c_str(), 1);
  }
  if (i >= argc) return usage_error("run", "no command given");
  std::string problem;
  std::string lib = find_library(&problem);
  if (lib.empty()) {
    if (problem.empty()) problem = "cannot find libaixmalloc.so (set AIXMALLOC_LIBRARY)";
    fprintf(stderr, "aixmalloc run: %s\n", problem.c_str());
    return 127;
  }
  setenv("LD_PRELOAD", preload_value(lib).c_str(), 1);
  fflush(nullptr);
  execvp(argv[i], argv + i);
  int err = errno;
  fprintf(stderr, "aixmalloc run: cannot run '%s': %s\n", argv[i], strerror(err));
  return err == ENOENT ? 127 : 126;
}

}  // namespace aixmalloc::cli
