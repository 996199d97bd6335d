// What the aixmalloc command's files share: the subcommands, the text made from the one option
// table (libmalloc/base/options.def), and the child-process helpers of `run` and `compare`.
//
// The command is a tool on top of the allocator, not part of it: std:: containers, exceptions and
// stdio are fine here. It links only the allocator's core, for the option table and the very parser
// the runtime uses (libmalloc/base/config.h), so `check` and `help` cannot drift from the runtime.
#pragma once

#include <stdio.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libmalloc/base/config.h"

namespace aixmalloc::cli {

// Exit statuses of every subcommand (aixmalloc(1), EXIT STATUS).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // a value rejected, a file unreadable, a run failed
inline constexpr int kExitUsage = 2;   // bad arguments, or a process that cannot be asked at all

// --- subcommands (one file each) ----------------------------------------------------------------
int cmd_run(int argc, char** argv);
int cmd_check(int argc, char** argv);
int cmd_stats(int argc, char** argv);
int cmd_compare(int argc, char** argv);
extern const char* const kDefaultConfigs[];  // compare's configurations when --configs is not given
extern const size_t kDefaultConfigCount;

int cmd_leaks(int argc, char** argv);

// --- input.cpp: what the readers of files share ------------------------------------------------
// The whole of a file, or of standard input for "-"; false with *error set.
bool read_all(const std::string& path, std::string* out, std::string* error);
// "--name VALUE" or "--name=VALUE": 1 with *value set, 0 when argv[*i] is another flag, -1 when
// the value is missing.
int flag_value(std::string_view name, int argc, char** argv, int* i, std::string* value);

// --- help.cpp: every usage and help text -------------------------------------------------------
struct CommandInfo {
  const char* name;
  int (*entry)(int argc, char** argv);
  const char* synopsis;        // after "aixmalloc NAME "
  const char* summary;         // one line
  void (*details)(FILE* out);  // the command's own flags and notes, for `NAME --help`
};
extern const CommandInfo kCommands[];
extern const size_t kCommandCount;
const CommandInfo* find_command(std::string_view name);

void print_usage(FILE* out);                               // one synopsis line per command
void print_help(FILE* out);                                // `aixmalloc help`
void print_command_help(const CommandInfo& c, FILE* out);  // `aixmalloc NAME --help`
// "aixmalloc NAME: MESSAGE" and a pointer to --help on stderr; returns kExitUsage.
int usage_error(const char* command, const std::string& message);
bool is_help_flag(std::string_view arg);  // --help or -h

// The sections of `aixmalloc help` generated from the table, also used by the commands' own help.
void print_variables(FILE* out);
void print_policies(FILE* out);
void print_options(FILE* out, uint8_t where_mask);

// --- table.cpp: words for the table's entries --------------------------------------------------
std::string option_syntax(
    const OptionSpec& o);  // "multiheap[:n]", "bucket_statistics:{stdout|stderr|path}"
std::string option_limits(const OptionSpec& o);     // "default 32, 1..32"; empty for flags
std::string option_policies(const OptionSpec& o);   // "Yorktown, watson"
std::string option_variables(const OptionSpec& o);  // "MALLOCOPTIONS, MALLOCBUCKETS"
// The effective value of option i as `check` shows it: on/off, a number, a destination.
std::string option_value(const Config& c, size_t i);
std::string destination_text(const Destination& d);  // off, stdout, stderr or the path
std::string signal_name(int sig);  // "SIGUSR2", "SIGRTMIN+3", "SIGRTMAX-1"; "off" for 0
std::optional<Variable> variable_named(std::string_view name);
std::optional<Policy> policy_named(std::string_view name);  // case-insensitive, as the parser
std::string with_commas(uint64_t v);                        // 1234567 -> "1,234,567"
std::string human_bytes(uint64_t bytes);                    // "1.5 MiB"

// --- run.cpp: the library and the child's environment -------------------------------------------
// libaixmalloc.so: $AIXMALLOC_LIBRARY, beside this executable, ../lib, the install directory.
// Empty when none is found, or when AIXMALLOC_LIBRARY names no readable file (*problem says so).
std::string find_library(std::string* problem = nullptr);
// Removes every variable of the table from this process's environment (compare's clean slate).
void clear_malloc_variables();
// LD_PRELOAD with `lib` first and whatever was preloaded already after it.
std::string preload_value(const std::string& lib);

}  // namespace aixmalloc::cli
