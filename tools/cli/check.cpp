// `aixmalloc check`: the runtime's parser (parse_config) on the environment's variables or on
// VAR=VALUE arguments. The effective configuration goes to stdout; the diagnostics go to stderr
// through the runtime's own warn(), so they are the lines a program would print, byte for byte.
// MALLOCDEBUG's tools have a section of their own, listing only what is on or was given.
#include <string.h>
#include <unistd.h>

#include "tools/cli/cli.h"

namespace aixmalloc::cli {

namespace {

constexpr int kSettingWidth = 26;
constexpr int kValueWidth = 24;

// Where a setting came from: default, the variable, or a legacy variable (marked).
std::string origin_text(Origin origin, Variable source) {
  switch (origin) {
    case Origin::kDefault:
      return "default";
    case Origin::kVariable:
      return spec(source).name();
    case Origin::kLegacy:
      return std::string(spec(source).name()) + " (legacy)";
  }
  return "?";
}

// An option a variable set but the parser then switched off (it does not apply to the policy, or
// this build lacks it). The bucket sub-options only tune their layer and are never "on".
bool ignored(const OptionSpec& o, const OptionValue& v) {
  if (v.origin == Origin::kDefault || v.on || (o.arg == kNumber && !(o.where & kInDebug))) return false;
  return !(o.arg == kOff && v.number == 0);  // threadcache:off is off on purpose
}

void row(const std::string& setting, const std::string& value, const std::string& origin) {
  printf("  %-*s %-*s %s\n", kSettingWidth - 1, setting.c_str(), kValueWidth - 1, value.c_str(),
         origin.c_str());
}

bool is_debug_option(size_t i) { return (kOptions[i].where & kInDebug) != 0; }

bool is_catch_overflow_option(size_t i) {
  for (OptionId id : kCatchOverflowOptions)
    if (static_cast<size_t>(id) == i) return true;
  return false;
}

// What the parser's line says of a sub-option given without what it needs: the row says it too.
const char* missing_requirement(const Config& c, size_t i) {
  if (!c.options[i].on || !is_catch_overflow_option(i)) return nullptr;
  if (!c.enabled(OptionId::kCatchOverflow)) return "catch_overflow";
  if (static_cast<OptionId>(i) == OptionId::kQuarantine && !c.enabled(OptionId::kPostfreeChecking))
    return "postfree_checking";
  return nullptr;
}

// The MALLOCDEBUG section: every option that is on or was given (an ignored one marked), all of
// catch_overflow's sub-options with their effective values when it is on, and the output stream
// whenever a tool is on.
void print_debug(const Config& c) {
  bool any_on = false, any_given = false;
  for (size_t i = 0; i < kOptionCount; ++i) {
    if (!is_debug_option(i)) continue;
    any_on |= c.options[i].on;
    any_given |= c.options[i].origin != Origin::kDefault;
  }
  printf("Debugging tools (%s):\n", spec(Variable::kMallocDebug).name());
  if (!any_on && !any_given) {
    puts("  none");
    return;
  }
  row("setting", "value", "origin");
  bool guarding = c.enabled(OptionId::kCatchOverflow);
  for (size_t i = 0; i < kOptionCount; ++i) {
    if (!is_debug_option(i)) continue;
    const OptionSpec& o = kOptions[i];
    const OptionValue& v = c.options[i];
    bool shown = v.on || v.origin != Origin::kDefault || (guarding && is_catch_overflow_option(i)) ||
                 (any_on && static_cast<OptionId>(i) == OptionId::kOutput);
    if (!shown) continue;
    std::string origin = origin_text(v.origin, v.source);
    if (ignored(o, v)) origin += ", ignored";
    if (const char* needs = missing_requirement(c, i)) origin += std::string(", no effect without ") + needs;
    std::string value = option_value(c, i);
    if (static_cast<OptionId>(i) == OptionId::kOutput && !v.on) value = "stderr";
    row(o.name(), value, origin);
  }
}

void print_configuration(const Config& c, const RawVariables& raw, bool is_64bit) {
  printf("Configuration a %s program would run with:\n", is_64bit ? "64-bit" : "32-bit");
  row("setting", "value", "origin");
  row(spec(Variable::kMallocType).name(), spec(c.policy).spelling(),
      origin_text(c.policy_origin, Variable::kMallocType));
  for (size_t i = 0; i < kOptionCount; ++i) {
    if (is_debug_option(i)) continue;
    const OptionSpec& o = kOptions[i];
    const OptionValue& v = c.options[i];
    std::string origin = origin_text(v.origin, v.source);
    if (v.origin == Origin::kDefault && v.on && (o.arg == kFlag || o.arg == kOff))
      origin = std::string("default for ") + spec(c.policy).spelling();
    if (ignored(o, v)) origin += ", ignored";
    row(o.name(), option_value(c, i), origin);
  }
  for (Variable var : {Variable::kAixmallocStats, Variable::kAixmallocStatsJson}) {
    const Destination& d = var == Variable::kAixmallocStats ? c.stats : c.stats_json;
    row(spec(var).name(), destination_text(d),
        d.kind == Destination::kNone ? "default" : spec(var).name());
  }
  // Unset, the runtime picks a free real-time signal as it starts ("auto"); a value the parser
  // refused leaves it at that, and the row says the variable was ignored.
  const Variable sig = Variable::kAixmallocStatsSignal;
  const char* sig_value = raw[sig];
  bool refused = c.stats_signal == 0 && sig_value && sig_value[strspn(sig_value, " \t")] != '\0';
  row(spec(sig).name(),
      c.stats_signal == kStatsSignalOff ? "off"
      : c.stats_signal == 0             ? "auto"
                                        : signal_name(c.stats_signal),
      c.stats_signal ? spec(sig).name()
      : refused      ? std::string(spec(sig).name()) + ", ignored"
                     : "default");
  // PSALLOC=early (unless NODISCLAIM=true) and AIXMALLOC_ZERO_SIZE: a row each, as a program reads them.
  auto given = [&](Variable v) { return raw[v] && raw[v][strspn(raw[v], " \t")] != '\0'; };
  row(spec(Variable::kPsalloc).name(), c.psalloc_early ? "early" : "late",
      c.psalloc_early ? spec(Variable::kPsalloc).name()
      : given(Variable::kPsalloc) || given(Variable::kNodisclaim) ? "PSALLOC, NODISCLAIM"
                                                                  : "default");
  row(spec(Variable::kAixmallocZeroSize).name(), c.zero_size_null ? "null" : "pointer",
      given(Variable::kAixmallocZeroSize) ? spec(Variable::kAixmallocZeroSize).name() : "default");
  print_debug(c);
}

}  // namespace

int cmd_check(int argc, char** argv) {
  RawVariables raw;
  read_variables(environ, &raw);
  ParseContext ctx;
  for (int i = 0; i < argc; ++i) {
    std::string_view a = argv[i];
    if (is_help_flag(a)) {
      print_command_help(*find_command("check"), stdout);
      return kExitOk;
    }
    if (a == "--32bit") {
      ctx.is_64bit = false;
      continue;
    }
    size_t eq = a.find('=');
    std::optional<Variable> var =
        eq == std::string_view::npos ? std::nullopt : variable_named(a.substr(0, eq));
    if (!var)
      return usage_error("check",
                         "'" + std::string(a) + "' is not VARIABLE=VALUE for a malloc variable");
    raw[*var] = argv[i] + eq + 1;
  }
  Config cfg;
  parse_config(raw, ctx, &cfg);
  print_configuration(cfg, raw, ctx.is_64bit);
  size_t problems = cfg.diagnostics.total();
  if (problems == 0) {
    puts("Every value is accepted.");
  } else {
    printf(
        "%zu value%s rejected or ignored (each named on standard error); a program would run\n"
        "with the configuration above.\n",
        problems, problems == 1 ? "" : "s");
  }
  fflush(stdout);
  print_diagnostics(cfg.diagnostics);  // the runtime's own lines (config.cpp)
  return problems ? kExitFailed : kExitOk;
}

}  // namespace aixmalloc::cli
