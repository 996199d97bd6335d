// The aixmalloc command: run a program under an AIX malloc configuration, check a configuration
// with the runtime's own parser, print the version. See aixmalloc(1).
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "aixmalloc_version.h"
#include "libmalloc/config.h"

using namespace aixmalloc;

namespace {

const char* kUsage =
    "usage: aixmalloc run [--type T] [--options O] [--buckets B] [--stats DEST] -- CMD [ARGS...]\n"
    "       aixmalloc check [VAR=VALUE ...]\n"
    "       aixmalloc help | --help | --version\n";

bool exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The library beside this executable (build tree), then the install tree, then $AIXMALLOC_LIBRARY
// first of all when set.
std::string find_library() {
  if (const char* env = getenv("AIXMALLOC_LIBRARY"); env && *env) return env;
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  std::vector<std::string> candidates;
  if (n > 0) {
    self[n] = '\0';
    std::string dir(self);
    dir.erase(dir.rfind('/'));
    candidates.push_back(dir + "/libaixmalloc.so");
    candidates.push_back(dir + "/../lib/libaixmalloc.so");
  }
  candidates.push_back(std::string(AIXMALLOC_INSTALL_LIBDIR) + "/libaixmalloc.so");
  for (const auto& c : candidates) {
    if (exists(c)) {
      char real[PATH_MAX];
      return realpath(c.c_str(), real) ? std::string(real) : c;
    }
  }
  return {};
}

int cmd_run(int argc, char** argv) {
  int i = 0;
  auto value = [&](const char* flag) -> const char* {
    if (i + 1 >= argc) {
      fprintf(stderr, "aixmalloc run: %s needs a value\n%s", flag, kUsage);
      exit(2);
    }
    return argv[++i];
  };
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      ++i;
      break;
    } else if (a == "--type") {
      setenv("MALLOCTYPE", value("--type"), 1);
    } else if (a == "--options") {
      setenv("MALLOCOPTIONS", value("--options"), 1);
    } else if (a == "--buckets") {
      setenv("MALLOCBUCKETS", value("--buckets"), 1);
    } else if (a == "--stats") {
      setenv("AIXMALLOC_STATS", value("--stats"), 1);
    } else if (a == "--help" || a == "-h") {
      fputs(kUsage, stdout);
      return 0;
    } else if (a[0] == '-') {
      fprintf(stderr, "aixmalloc run: unknown option '%s'\n%s", a.c_str(), kUsage);
      return 2;
    } else {
      break;  // the command starts here
    }
  }
  if (i >= argc) {
    fprintf(stderr, "aixmalloc run: no command given\n%s", kUsage);
    return 2;
  }
  std::string lib = find_library();
  if (lib.empty()) {
    fprintf(stderr, "aixmalloc run: cannot find libaixmalloc.so (set AIXMALLOC_LIBRARY)\n");
    return 127;
  }
  std::string preload = lib;
  if (const char* old = getenv("LD_PRELOAD"); old && *old) preload += std::string(":") + old;
  setenv("LD_PRELOAD", preload.c_str(), 1);
  execvp(argv[i], argv + i);
  fprintf(stderr, "aixmalloc run: cannot run '%s': %s\n", argv[i], strerror(errno));
  return errno == ENOENT ? 127 : 126;
}

const char* origin_name(const OptionValue& v) {
  if (v.origin == Origin::kDefault) return "default";
  return spec(v.source).name;
}

int cmd_check(int argc, char** argv) {
  RawVariables raw;
  read_variables(environ, &raw);
  std::vector<std::string> keep(argv, argv + argc);
  for (int i = 0; i < argc; ++i) {
    const char* eq = strchr(argv[i], '=');
    bool found = false;
    for (size_t v = 0; eq && v < kVariableCount; ++v) {
      if (strncmp(argv[i], kVariables[v].name, static_cast<size_t>(eq - argv[i])) == 0 &&
          strlen(kVariables[v].name) == static_cast<size_t>(eq - argv[i])) {
        raw.value[v] = eq + 1;
        found = true;
      }
    }
    if (!found) {
      fprintf(stderr, "aixmalloc check: '%s' is not VARIABLE=VALUE for a malloc variable\n", argv[i]);
      return 2;
    }
  }
  Config cfg;
  ParseContext ctx;
  parse_config(raw, ctx, &cfg);
  printf("MALLOCTYPE  %-22s (%s)\n", spec(cfg.policy).spelling,
         cfg.policy_origin == Origin::kDefault ? "default" : "MALLOCTYPE");
  for (size_t i = 0; i < kOptionCount; ++i) {
    const OptionSpec& o = kOptions[i];
    const OptionValue& v = cfg.options[i];
    std::string shown;
    if (o.arg == kFlag || o.arg == kOff)
      shown = v.on ? "on" : "off";
    else if (o.arg == kDest)
      shown = !v.on ? "off"
              : cfg.bucket_statistics.kind == Destination::kStdout ? "stdout"
              : cfg.bucket_statistics.kind == Destination::kStderr ? "stderr"
                                                                   : cfg.bucket_statistics.path;
    else if (o.arg == kOptNumber)
      shown = v.on ? std::to_string(v.number) : "off";
    else
      shown = std::to_string(v.number);
    printf("  %-22s %-22s (%s)\n", o.name, shown.c_str(), origin_name(v));
  }
  for (size_t i = 0; i < cfg.diagnostics.count; ++i) fprintf(stderr, "aixmalloc: %s\n", cfg.diagnostics.lines[i]);
  if (cfg.diagnostics.dropped)
    fprintf(stderr, "aixmalloc: %zu more configuration problems not shown\n", cfg.diagnostics.dropped);
  return cfg.diagnostics.total() ? 1 : 0;
}

void help() {
  fputs(kUsage, stdout);
  puts("\nVariables:");
  for (const auto& v : kVariables) printf("  %-17s %s\n", v.name, v.doc);
  puts("\nMALLOCTYPE values:");
  for (const auto& p : kPolicies)
    printf("  %-17s %s%s\n", p.spelling, p.doc, p.built ? "" : " [not in this build]");
  puts("\nMALLOCOPTIONS options:");
  for (const auto& o : kOptions)
    printf("  %-22s %s%s\n", o.name, o.doc, o.built ? "" : " [not in this build]");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fputs(kUsage, stderr);
    return 2;
  }
  std::string cmd = argv[1];
  if (cmd == "--version" || cmd == "version") {
    printf("aixmalloc %s\n", AIXMALLOC_VERSION);
    return 0;
  }
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    help();
    return 0;
  }
  if (cmd == "run") return cmd_run(argc - 2, argv + 2);
  if (cmd == "check") return cmd_check(argc - 2, argv + 2);
  fprintf(stderr, "aixmalloc: unknown command '%s'\n%s", cmd.c_str(), kUsage);
  return 2;
}
