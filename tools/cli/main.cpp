// The aixmalloc command: run a program under an AIX malloc configuration, check a configuration
// with the runtime's own parser, read statistics dumps, compare configurations on a workload.
// See aixmalloc(1). One file per subcommand; help.cpp holds every text.
#include "aixmalloc_version.h"
#include "tools/cli/cli.h"

using namespace aixmalloc::cli;

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(stderr);
    return kExitUsage;
  }
  std::string_view cmd = argv[1];
  if (cmd == "--version" || cmd == "version") {
    printf("aixmalloc %s\n", AIXMALLOC_VERSION);
    return kExitOk;
  }
  if (is_help_flag(cmd)) {
    print_help(stdout);
    return kExitOk;
  }
  if (cmd == "help") {
    if (argc == 2 || is_help_flag(argv[2])) {
      print_help(stdout);
      return kExitOk;
    }
    const CommandInfo* c = find_command(argv[2]);
    if (!c) return usage_error(nullptr, "no command '" + std::string(argv[2]) + "'");
    print_command_help(*c, stdout);
    return kExitOk;
  }
  const CommandInfo* c = find_command(cmd);
  if (!c || !c->entry) return usage_error(nullptr, "unknown command '" + std::string(cmd) + "'");
  return c->entry(argc - 2, argv + 2);
}
