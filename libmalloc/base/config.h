// The configuration module: a pure function from the variables' strings to a Config plus the
// diagnostics a user must see. The runtime calls it once at start-up (on values read straight from
// environ, no allocation); the aixmalloc CLI and the tests call the very same function.
#pragma once

#include <cstddef>
#include <cstdint>

#include "libmalloc/base/platform.h"  // kMaxHeaps, in the table

namespace aixmalloc {

enum class Variable : uint8_t {
#define AIXMALLOC_VARIABLE(id, name, doc) id,
#include "libmalloc/base/options.def"
};
inline constexpr size_t kVariableCount = 0
#define AIXMALLOC_VARIABLE(id, name, doc) +1
#include "libmalloc/base/options.def"
    ;

enum class Policy : uint8_t {
#define AIXMALLOC_POLICY(id, spelling, built, doc) id,
#include "libmalloc/base/options.def"
};
inline constexpr size_t kPolicyCount = 0
#define AIXMALLOC_POLICY(id, spelling, built, doc) +1
#include "libmalloc/base/options.def"
    ;

enum class OptionId : uint8_t {
#define AIXMALLOC_OPTION(id, name, where, arg, def, min, max, policies, built, doc) id,
#include "libmalloc/base/options.def"
};
inline constexpr size_t kOptionCount = 0
#define AIXMALLOC_OPTION(id, name, where, arg, def, min, max, policies, built, doc) +1
#include "libmalloc/base/options.def"
    ;

// catch_overflow's sub-options: accepted on their own, in effect only with it (the parser says so).
// The other MALLOCDEBUG options (Malloc Detect, fill, output, continue) work by themselves.
inline constexpr OptionId kCatchOverflowOptions[] = {
    OptionId::kAlign,       OptionId::kAllowOverreading,       OptionId::kPostfreeChecking,
    OptionId::kQuarantine,  OptionId::kOverrideSignalHandling, OptionId::kDebugRange,
    OptionId::kFunctionset, OptionId::kSample};

enum ArgKind : uint8_t { kFlag, kOptNumber, kNumber, kDest, kOff, kRange, kNames, kPattern, kWord };
enum WhereBits : uint8_t { kInOptions = 1, kInBuckets = 2, kInMultiheap = 4, kInDebug = 8 };
enum PolicyBits : uint8_t {
  kYorktownBit = 1u << static_cast<unsigned>(Policy::kYorktown),
  kWatsonBit = 1u << static_cast<unsigned>(Policy::kWatson),
  kWatson2Bit = 1u << static_cast<unsigned>(Policy::kWatson2),
  kAllPolicies = 0xff,
};

// The tables' strings are offsets into one text (config.cpp; text_table.h says why).
const char* config_text(uint16_t at);

struct VariableSpec {
  uint16_t name_at, doc_at;
  const char* name() const { return config_text(name_at); }
  const char* doc() const { return config_text(doc_at); }
};
struct PolicySpec {
  uint16_t spelling_at, doc_at;
  bool built;
  const char* spelling() const { return config_text(spelling_at); }
  const char* doc() const { return config_text(doc_at); }
};
struct OptionSpec {
  uint16_t name_at, doc_at;
  uint8_t where;
  ArgKind arg;
  uint64_t def, min, max;
  uint8_t policies;
  bool built;
  const char* name() const { return config_text(name_at); }
  const char* doc() const { return config_text(doc_at); }
};

extern const VariableSpec kVariables[kVariableCount];
extern const PolicySpec kPolicies[kPolicyCount];
extern const OptionSpec kOptions[kOptionCount];

inline const VariableSpec& spec(Variable v) { return kVariables[static_cast<size_t>(v)]; }
inline const PolicySpec& spec(Policy p) { return kPolicies[static_cast<size_t>(p)]; }
inline const OptionSpec& spec(OptionId o) { return kOptions[static_cast<size_t>(o)]; }

// Where a setting came from, for `aixmalloc check`.
enum class Origin : uint8_t { kDefault, kVariable, kLegacy };

// A report destination: stdout, stderr, or a file path kept in a fixed buffer.
struct Destination {
  enum Kind : uint8_t { kNone, kStdout, kStderr, kPath } kind = kNone;
  char path[256] = {};
};

struct OptionValue {
  bool on = false;
  uint64_t number = 0;  // the option's argument, or its default
  Origin origin = Origin::kDefault;
  Variable source = Variable{};  // meaningful when origin != kDefault
};

// The diagnostics of one parse, in fixed storage. Lines have no "aixmalloc: " prefix. The counts
// come first: a parse writes the lines only when it has something to say (Config's last member).
struct Diagnostics {
  static constexpr size_t kMaxLines = 24;
  static constexpr size_t kLineLength = 200;
  size_t count = 0;    // lines stored
  size_t dropped = 0;  // further problems not stored
  char lines[kMaxLines][kLineLength] = {};
  size_t total() const { return count + dropped; }
};

// MALLOCDEBUG's values that are more than one number. Which options are on, and align, quarantine,
// sample, fill and stack_depth, are in Config::options like every other option's.
struct DebugSettings {
  // debug_range:min:max. The parser's default is the whole range, 0 to UINT64_MAX; a Config not
  // yet parsed holds zeros, so that it is all zero bits (the runtime's copy lies in .bss).
  uint64_t range_min = 0, range_max = 0;
  static constexpr size_t kMaxFunctions = 8;
  static constexpr size_t kFunctionLength = 64;
  char functions[kMaxFunctions][kFunctionLength] = {};  // functionset: NUL-terminated names
  size_t function_count = 0;
  bool log_extended = false;  // log:extended or extended
  Destination output;         // kNone: stderr
};

// AIXMALLOC_STATS_SIGNAL=off: no live statistics channel at all.
inline constexpr int kStatsSignalOff = -1;

struct Config {
  Policy policy = Policy::kYorktown;
  Origin policy_origin = Origin::kDefault;
  OptionValue options[kOptionCount];
  DebugSettings debug;
  Destination bucket_statistics;
  Destination stats;       // AIXMALLOC_STATS
  Destination stats_json;  // AIXMALLOC_STATS_JSON
  Destination leaks_json;  // AIXMALLOC_LEAKS_JSON
  int stats_signal = 0;     // AIXMALLOC_STATS_SIGNAL: the signal; 0: aixmalloc picks; kStatsSignalOff
  bool zero_size_null = false;  // AIXMALLOC_ZERO_SIZE=null: AIX's malloc(0) == NULL
  bool psalloc_early = false;   // PSALLOC=early and no NODISCLAIM=true: every free disclaims
  char replacement[256] = {};   // MALLOCTYPE=user:NAME (or the program's name for it): NAME
  Diagnostics diagnostics;      // last: its 4.8 KiB of lines are written only when there are some

  const OptionValue& option(OptionId id) const { return options[static_cast<size_t>(id)]; }
  OptionValue& option(OptionId id) { return options[static_cast<size_t>(id)]; }
  bool enabled(OptionId id) const { return option(id).on; }
  uint64_t value(OptionId id) const { return option(id).number; }
};

// The raw values of the variables, nullptr where unset. Pointers into environ or test strings.
struct RawVariables {
  const char* value[kVariableCount] = {};
  const char*& operator[](Variable v) { return value[static_cast<size_t>(v)]; }
  const char* operator[](Variable v) const { return value[static_cast<size_t>(v)]; }
};

struct ParseContext {
  bool is_64bit = sizeof(void*) == 8;
  bool secure = false;  // AT_SECURE: file destinations are refused
  // The program's _malloc_user_defined_name, when it defines one: read as MALLOCTYPE=user:NAME
  // when MALLOCTYPE is not set.
  const char* program_replacement = nullptr;
};

// The pure parser. Writes every field of *out but the diagnostics' lines past their count (a
// process whose variables are fine writes one page of its Config); never allocates; safe on
// hostile input of any length.
void parse_config(const RawVariables& vars, const ParseContext& ctx, Config* out);

// Fills `vars` from an environ-style array, without copying or allocating.
void read_variables(char* const* envp, RawVariables* vars);

// Writes the diagnostics to stderr as the runtime does at start-up: one warn() line each, then one
// line counting those that did not fit. `aixmalloc check` prints them with the same function, so
// its lines are a program's, byte for byte. Allocates nothing.
void print_diagnostics(const Diagnostics& d);

}  // namespace aixmalloc
