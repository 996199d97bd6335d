// Every usage and help text of the aixmalloc command. The lists of variables, policies and options
// are printed from the one table (kVariables, kPolicies, kOptions); the only words written here are
// the command's own flags.
#include <string.h>

#include "aixmalloc_version.h"
#include "tools/cli/cli.h"

namespace aixmalloc::cli {

namespace {

constexpr int kNameColumn = 24;  // where the description starts in every two-column list

// "  name    text", or the name on its own line when it reaches the column.
void entry(FILE* out, const std::string& name, const std::string& text) {
  if (static_cast<int>(name.size()) + 2 < kNameColumn - 1)
    fprintf(out, "  %-*s%s\n", kNameColumn - 2, name.c_str(), text.c_str());
  else
    fprintf(out, "  %s\n%*s%s\n", name.c_str(), kNameColumn, "", text.c_str());
}

void more(FILE* out, const std::string& text) {
  fprintf(out, "%*s%s\n", kNameColumn, "", text.c_str());
}

void run_details(FILE* out) {
  fputs(
      "Runs CMD with libaixmalloc.so preloaded (LD_PRELOAD, ahead of anything already preloaded) "
      "and\n"
      "the variables below set. aixmalloc replaces itself with CMD (exec), so CMD's exit status, "
      "or\n"
      "the signal that ended it, is aixmalloc's. 127: CMD or the library not found; 126: CMD\n"
      "cannot be run.\n\n"
      "Flags (each sets one variable; see aixmalloc(7)):\n",
      out);
  entry(out, "--type T", std::string(spec(Variable::kMallocType).name()) + ": a policy below");
  entry(out, "--options O",
        std::string(spec(Variable::kMallocOptions).name()) + ": options below, comma-separated");
  entry(out, "--buckets B",
        std::string(spec(Variable::kMallocBuckets).name()) + ": bucket sub-options below");
  entry(out, "--multiheap M",
        std::string(spec(Variable::kMallocMultiheap).name()) + ": 1, or heaps:n,considersize");
  entry(out, "--disclaim", std::string(spec(Variable::kMallocDisclaim).name()) + "=true");
  entry(out, "--debug D",
        std::string(spec(Variable::kMallocDebug).name()) + ": debugging tools below, comma-separated");
  entry(out, "--stats DEST",
        std::string(spec(Variable::kAixmallocStats).name()) + ": stdout, stderr or a file");
  more(out, "(%p in it: the process ID; a plain FILE is the first process's, FILE.PID the others')");
  entry(out, "--json DEST",
        std::string(spec(Variable::kAixmallocStatsJson).name()) + ": stdout, stderr or a file");
  entry(out, "--stats-signal SIG",
        std::string(spec(Variable::kAixmallocStatsSignal).name()) +
            ": USR1, USR2, RTMIN+n, RTMAX-n or off; the");
  more(out, "signal on which CMD answers 'aixmalloc stats --pid' (default: one aixmalloc picks)");
  fputs("\nMALLOCTYPE values:\n", out);
  print_policies(out);
  fputs("\nOptions:\n", out);
  print_options(out, kInOptions | kInBuckets | kInMultiheap);
  fputs("\nMALLOCDEBUG options:\n", out);
  print_options(out, kInDebug);
}

void check_details(FILE* out) {
  fputs(
      "Reads the variables below from the environment, or from the VAR=VALUE arguments (which "
      "take\n"
      "precedence), and runs the runtime's own parser on them. Prints, on standard output, the\n"
      "policy and every option with its effective value and where it came from (default, or the\n"
      "variable that set it; legacy variables are marked), then the MALLOCDEBUG tools that are on\n"
      "or were given, and on standard error each diagnostic, exactly as a program started with\n"
      "these variables would print it.\n"
      "Exit status: 0 when every value is accepted, 1 when any was rejected, 2 on bad "
      "arguments.\n\n"
      "Flags:\n",
      out);
  entry(out, "--32bit", "check as a 32-bit program would read the values (3.1, sizing factors)");
  fputs("\nVariables:\n", out);
  print_variables(out);
}

void stats_details(FILE* out) {
  fputs(
      "Reads a statistics dump, or asks a running process for one (--pid), and prints the\n"
      "allocation requests per bucket (a table and a bar chart), the per-heap table, and the\n"
      "pool, thread-cache and large-block figures it holds.\n"
      "FILE (or - for standard input) may hold any of, and the format is told from the content:\n"
      "  AIX's bucket statistics summary (MALLOCOPTIONS=buckets,bucket_statistics:DEST),\n"
      "  the malloc status report (AIXMALLOC_STATS=DEST),\n"
      "  the JSON document (AIXMALLOC_STATS_JSON=DEST).\n"
      "When FILE holds several reports of one kind (a process and its children), the last is "
      "read.\n"
      "Several FILEs, or a pattern (the %p of the variables for a process ID, or *, ? and [...]),\n"
      "read a process tree's reports: each in turn (--json: an array), or added up with --sum.\n"
      "An empty FILE (a process that ended without its exit report) is named and left out.\n\n"
      "With --pid, any process on aixmalloc is asked, nothing set when it started: aixmalloc\n"
      "reads the signal and cookie it advertises in /proc/PID/fd (or its AIXMALLOC_STATS_SIGNAL),\n"
      "sends nothing that would disturb it (a signal it does not catch, blocks everywhere, or\n"
      "took for itself), sends the request, waits for the JSON document it writes to /dev/shm\n"
      "(or /tmp), reads and removes it, and prints it as it prints a FILE; the process goes on.\n"
      "See AIXMALLOC_STATS_SIGNAL in aixmalloc(7).\n"
      "Exit status: 0; 1 when a FILE cannot be read or holds no statistics, the SVG cannot be\n"
      "written, or the process did not answer in time or cannot answer without being disturbed,\n"
      "or its answer failed a check; 2 on bad arguments, or a process that cannot be asked (none\n"
      "with that PID, no channel, not on aixmalloc, another user's).\n\n"
      "Flags:\n",
      out);
  entry(out, "--json", "print the figures read as one JSON document instead of the tables");
  entry(out, "--svg OUT",
        "also write the bucket histogram (or the pool's, without buckets) as SVG; - for");
  more(out, "standard output, which then gets the SVG alone");
  entry(out, "--sum", "add up the figures of every FILE: one process tree's total");
  entry(out, "--log", "logarithmic bar lengths (chart and SVG)");
  entry(out, "--ascii", "draw the bars with '#' even on a UTF-8 terminal");
  entry(out, "--pid PID", "ask the running process PID for its statistics instead of reading FILE");
  entry(out, "--signal SIG", "with --pid: send SIG, not the signal the process advertises");
  entry(out, "--timeout SECONDS", "with --pid: how long to wait for the answer (default 5)");
}

void leaks_details(FILE* out) {
  fputs(
      "Reads the leak report of a process (the blocks still allocated, grouped by the stack that\n"
      "allocated them), or asks a running process for one (--pid), and prints the top sites: blocks,\n"
      "bytes, share of the leaked bytes, sizes and the stack, innermost frame (malloc's caller)\n"
      "first. A process writes the report at exit under MALLOCDEBUG=report_allocations (to the\n"
      "output: destination); see MALLOCDEBUG in aixmalloc(7).\n"
      "Frames the process could not name are named here from the module's file (function, and\n"
      "file:line where it or its debug file, such as /usr/lib/debug/.build-id/..., has debug\n"
      "information), but only when the file's build id is the one recorded: otherwise a line on\n"
      "standard error says so and the frames stay module+offset.\n"
      "With --pid, the request goes to any process on aixmalloc as for 'aixmalloc stats --pid',\n"
      "and the report the process writes to /dev/shm (or /tmp) is read. A process without\n"
      "MALLOCDEBUG=log, report_allocations or record_allocations answers that it records\n"
      "nothing; aixmalloc says what to set.\n"
      "Exit status: 0; 1 when the FILE cannot be read or is no leak report, the process records\n"
      "no allocations, did not answer or cannot answer, or the SVG cannot be written; 2 on bad\n"
      "arguments, or a process that cannot be asked.\n\n"
      "Flags:\n",
      out);
  entry(out, "--top N", "the N sites with the most bytes (default 10)");
  entry(out, "--depth N", "at most N frames of each stack, the innermost (default all)");
  entry(out, "--folded", "print the folded stacks of flame-graph tools instead of the table:");
  more(out, "outermost;...;innermost BYTES, one line per site");
  entry(out, "--svg OUT", "also write a flame graph (an icicle, width by bytes) as SVG");
  entry(out, "--json", "print the report again, every frame named that could be");
  entry(out, "--pid PID", "ask the running process PID for its report instead of reading FILE");
  entry(out, "--signal SIG", "with --pid: send SIG, not the signal the process advertises");
  entry(out, "--timeout SECONDS", "with --pid: how long to wait for the answer (default 5)");
}

void compare_details(FILE* out) {
  fputs(
      "Runs CMD under each configuration in rounds (one run of each, in a new random order),\n"
      "with standard input from --stdin FILE or /dev/null and standard output discarded, and\n"
      "prints one table: wall time and peak RSS (medians), each configuration's time over the\n"
      "baseline's (the default configuration, or the first listed) with a confidence interval,\n"
      "and the allocator's figures from the AIXMALLOC_STATS_JSON documents of each run. A\n"
      "configuration is recommended only when its whole interval is below 1; otherwise compare\n"
      "says that no configuration is measurably faster. Then the figures of the job (threads,\n"
      "lock contention, request sizes, memory free at exit) and the lines of IBM's AIX tuning\n"
      "advice they call for. Without --runs it makes at least 5 runs of each, then adds rounds\n"
      "until every comparison is settled, up to --max-runs or --budget. On a terminal, stderr\n"
      "shows the run and the time left.\n"
      "Exit status: 0, or 1 when CMD failed under some configuration.\n\n"
      "Flags:\n",
      out);
  entry(out, "--configs LIST",
        "the configurations, separated by ',' ';' or blanks (default below)");
  entry(out, "--runs N", "exactly N runs of each configuration (default: adaptive)");
  entry(out, "--max-runs N", "adaptive: at most N runs of each (default 20)");
  entry(out, "--budget SECONDS", "adaptive: no round starts past this time (default 300)");
  entry(out, "--confidence PERCENT", "for the comparisons together (default 95)");
  entry(out, "--by time|rss", "compare wall time (default) or peak RSS");
  entry(out, "--stdin FILE", "each run reads FILE on standard input");
  fputs(
      "\nA configuration is TYPE[+OPTION...]: TYPE is a MALLOCTYPE value as `check` accepts it\n"
      "(a policy below, debug, buckets, user:NAME), 'default' (MALLOCTYPE unset) or 'glibc' (no\n"
      "preload: the reference); each OPTION is a MALLOCOPTIONS option, joined by '+' or ','. A\n"
      "list item that names an option continues the configuration before it, so\n"
      "'watson+pool,multiheap,default+buckets' is two configurations.\n"
      "Default:",
      out);
  for (size_t i = 0; i < kDefaultConfigCount; ++i) fprintf(out, " %s", kDefaultConfigs[i]);
  fputs("\n\nMALLOCTYPE values:\n", out);
  print_policies(out);
  fputs("\nOptions:\n", out);
  print_options(out, kInOptions);
}

void help_details(FILE* out) {
  fputs(
      "Prints the commands, every variable, policy and option of this build; with COMMAND, that\n"
      "command's help.\n",
      out);
}

}  // namespace

const CommandInfo kCommands[] = {
    {"run", cmd_run,
     "[--type T] [--options O] [--buckets B] [--multiheap M] [--disclaim] [--debug D] [--stats DEST] "
     "[--json DEST] [--stats-signal SIG] -- CMD [ARGS...]",
     "run CMD with libaixmalloc.so preloaded and the configuration set", run_details},
    {"check", cmd_check, "[--32bit] [VAR=VALUE ...]",
     "validate the malloc variables with the runtime's parser; print the effective configuration",
     check_details},
    {"stats", cmd_stats,
     "[--json] [--svg OUT] [--log] [--ascii] [--sum] {FILE... | --pid PID [--signal SIG] "
     "[--timeout SECONDS]}",
     "read a statistics dump, or a running process's: tables and a bar chart per bucket",
     stats_details},
    {"leaks", cmd_leaks,
     "[--top N] [--depth N] [--folded | --json] [--svg OUT] {FILE | --pid PID [--signal SIG] "
     "[--timeout SECONDS]}",
     "read a leak report, or a running process's: the top sites with their stacks, flame graph",
     leaks_details},
    {"compare", cmd_compare,
     "[--configs LIST] [--runs N | --max-runs N --budget SECONDS] [--confidence PERCENT] "
     "[--by time|rss] [--stdin FILE] -- CMD [ARGS...]",
     "run CMD under several configurations; time and RSS with intervals, figures and advice",
     compare_details},
    {"help", nullptr, "[COMMAND]", "this text, or one command's help", help_details},
};
const size_t kCommandCount = sizeof(kCommands) / sizeof(kCommands[0]);

const CommandInfo* find_command(std::string_view name) {
  for (const CommandInfo& c : kCommands)
    if (name == c.name) return &c;
  return nullptr;
}

bool is_help_flag(std::string_view arg) {
  return arg == "--help" || arg == "-h";
}

void print_usage(FILE* out) {
  for (size_t i = 0; i < kCommandCount; ++i)
    fprintf(out, "%s aixmalloc %s %s\n", i == 0 ? "usage:" : "      ", kCommands[i].name,
            kCommands[i].synopsis);
  fputs("       aixmalloc --help | --version\n", out);
}

int usage_error(const char* command, const std::string& message) {
  if (command)
    fprintf(stderr, "aixmalloc %s: %s\nRun 'aixmalloc %s --help' for its usage.\n", command,
            message.c_str(), command);
  else
    fprintf(stderr, "aixmalloc: %s\nRun 'aixmalloc help' for the usage.\n", message.c_str());
  return kExitUsage;
}

void print_variables(FILE* out) {
  for (const VariableSpec& v : kVariables) entry(out, v.name(), v.doc());
}

void print_policies(FILE* out) {
  for (const PolicySpec& p : kPolicies)
    entry(out, p.spelling(), std::string(p.doc()) + (p.built ? "" : " [not in this build]"));
}

void print_options(FILE* out, uint8_t where_mask) {
  for (const OptionSpec& o : kOptions) {
    if (!(o.where & where_mask)) continue;
    entry(out, option_syntax(o), std::string(o.doc()) + (o.built ? "" : " [not in this build]"));
    std::string limits = option_limits(o);
    more(out, (limits.empty() ? "" : limits + "; ") + "in " + option_variables(o) + "; with " +
                  option_policies(o));
  }
}

void print_help(FILE* out) {
  fprintf(out, "aixmalloc %s: IBM AIX's configurable malloc subsystem on Linux\n\n",
          AIXMALLOC_VERSION);
  print_usage(out);
  fputs("\nCommands:\n", out);
  for (const CommandInfo& c : kCommands) entry(out, c.name, c.summary);
  fputs("\nVariables:\n", out);
  print_variables(out);
  fputs("\nMALLOCTYPE values:\n", out);
  print_policies(out);
  fputs("\nOptions:\n", out);
  print_options(out, kInOptions | kInBuckets | kInMultiheap);
  fputs("\nMALLOCDEBUG options:\n", out);
  print_options(out, kInDebug);
  fputs(
      "\nRun 'aixmalloc COMMAND --help' for a command's flags. See aixmalloc(1), aixmalloc(3) and\n"
      "aixmalloc(7).\n",
      out);
}

void print_command_help(const CommandInfo& c, FILE* out) {
  fprintf(out, "usage: aixmalloc %s %s\n\n", c.name, c.synopsis);
  c.details(out);
}

}  // namespace aixmalloc::cli
