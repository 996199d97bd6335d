// `aixmalloc check`: the runtime's parser (parse_config) on the environment's variables or on
// VAR=VALUE arguments. The effective configuration goes to stdout; the diagnostics go to stderr
// through the runtime's own warn(), so they are the lines a program would print, byte for byte.
#include <string.h>
#include <unistd.h>

#include "tools/cli/cli.h"

namespace aixmalloc::cli {

namespace {

constexpr int kSettingWidth = 24;
constexpr int kValueWidth = 24;

// Where a setting came from: default, the variable, or a legacy variable (marked).
std::string origin_text(Origin origin, Variable source) {
  switch (origin) {
    case Origin::kDefault:
      return "default";
    case Origin::kVariable:
      return spec(source).name;
    case Origin::kLegacy:
      return std::string(spec(source).name) + " (legacy)";
  }
  return "?";
}

// An option a variable set but the parser then switched off (it does not apply to the policy, or
// this build lacks it). Sub-options that take a number only tune their layer and are never "on".
bool ignored(const OptionSpec& o, const OptionValue& v) {
  if (v.origin == Origin::kDefault || v.on || o.arg == kNumber) return false;
  return !(o.arg == kOff && v.number == 0);  // threadcache:off is off on purpose
}

void row(const std::string& setting, const std::string& value, const std::string& origin) {
  printf("  %-*s %-*s %s\n", kSettingWidth - 1, setting.c_str(), kValueWidth - 1, value.c_str(),
         origin.c_str());
}

void print_configuration(const Config& c, const RawVariables& raw, bool is_64bit) {
  printf("Configuration a %s program would run with:\n", is_64bit ? "64-bit" : "32-bit");
  row("setting", "value", "origin");
  row(spec(Variable::kMallocType).name, spec(c.policy).spelling,
      origin_text(c.policy_origin, Variable::kMallocType));
  for (size_t i = 0; i < kOptionCount; ++i) {
    const OptionSpec& o = kOptions[i];
    const OptionValue& v = c.options[i];
    std::string origin = origin_text(v.origin, v.source);
    if (v.origin == Origin::kDefault && v.on && (o.arg == kFlag || o.arg == kOff))
      origin = std::string("default for ") + spec(c.policy).spelling;
    if (ignored(o, v)) origin += ", ignored";
    row(o.name, option_value(c, i), origin);
  }
  for (Variable var : {Variable::kAixmallocStats, Variable::kAixmallocStatsJson}) {
    const Destination& d = var == Variable::kAixmallocStats ? c.stats : c.stats_json;
    row(spec(var).name, destination_text(d),
        d.kind == Destination::kNone ? "default" : spec(var).name);
  }
  // A value the parser refused leaves the channel off: that row says the variable was ignored.
  const Variable sig = Variable::kAixmallocStatsSignal;
  const char* sig_value = raw[sig];
  bool refused = c.stats_signal == 0 && sig_value && sig_value[strspn(sig_value, " \t")] != '\0';
  row(spec(sig).name, signal_name(c.stats_signal),
      c.stats_signal ? spec(sig).name
      : refused      ? std::string(spec(sig).name) + ", ignored"
                     : "default");
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
