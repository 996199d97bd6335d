// Words for the entries of the one option table: an option's syntax, limits, the policies and the
// variables it belongs to, and a Config's values as `check` prints them. Everything here is derived
// from kVariables, kPolicies and kOptions; no option is named in this file.
#include <signal.h>
#include <string.h>
#include <strings.h>

#include "tools/cli/cli.h"

namespace aixmalloc::cli {

namespace {

// 2^46 reads better than 70368744177664 in a help line.
std::string number_text(uint64_t v) {
  if (v >= (uint64_t{1} << 32) && (v & (v - 1)) == 0)
    return "2^" + std::to_string(__builtin_ctzll(v));
  return std::to_string(v);
}

}  // namespace

std::string option_syntax(const OptionSpec& o) {
  std::string s = o.name();
  switch (o.arg) {
    case kFlag:
      break;
    case kOptNumber:
      s += "[:n]";
      break;
    case kNumber:
      s += ":n";
      break;
    case kDest:
      s += ":{stdout|stderr|path}";
      break;
    case kOff:
      s += "[:off]";
      break;
    case kRange:
      s += ":min:max";
      break;
    case kNames:
      s += ":f1[:f2...]";
      break;
    case kPattern:
      s += "[:byte]";
      break;
    case kWord:
      s += "[:word]";
      break;
  }
  return s;
}

std::string option_limits(const OptionSpec& o) {
  if (o.arg != kOptNumber && o.arg != kNumber) return {};
  std::string def = o.def == 0 && o.min > 0 ? "none" : number_text(o.def);
  return "default " + def + ", " + number_text(o.min) + ".." + number_text(o.max);
}

std::string option_policies(const OptionSpec& o) {
  std::string s;
  for (size_t p = 0; p < kPolicyCount; ++p) {
    if (!(o.policies & (1u << p))) continue;
    if (!s.empty()) s += ", ";
    s += kPolicies[p].spelling();
  }
  return s;
}

std::string option_variables(const OptionSpec& o) {
  std::string s;
  auto add = [&](uint8_t bit, Variable v) {
    if (!(o.where & bit)) return;
    if (!s.empty()) s += ", ";
    s += spec(v).name();
  };
  add(kInOptions, Variable::kMallocOptions);
  add(kInBuckets, Variable::kMallocBuckets);
  add(kInMultiheap, Variable::kMallocMultiheap);
  add(kInDebug, Variable::kMallocDebug);
  return s;
}

std::string destination_text(const Destination& d) {
  switch (d.kind) {
    case Destination::kNone:
      return "off";
    case Destination::kStdout:
      return "stdout";
    case Destination::kStderr:
      return "stderr";
    case Destination::kPath:
      return d.path;
  }
  return "off";
}

std::string option_value(const Config& c, size_t i) {
  const OptionSpec& o = kOptions[i];
  const OptionValue& v = c.options[i];
  switch (o.arg) {
    case kFlag:
    case kOff:
      return v.on ? "on" : "off";
    case kDest:
      return destination_text(i == static_cast<size_t>(OptionId::kOutput) ? c.debug.output : c.bucket_statistics);
    case kRange:
      if (!v.on) return "off";
      return std::to_string(c.debug.range_min) + ":" + std::to_string(c.debug.range_max);
    case kNames: {
      if (!v.on) return "off";
      std::string names;
      for (size_t f = 0; f < c.debug.function_count; ++f) names += (f ? ":" : "") + std::string(c.debug.functions[f]);
      return names;
    }
    case kPattern: {
      if (!v.on) return "off";
      char byte[16];
      snprintf(byte, sizeof(byte), "0x%02x", static_cast<unsigned>(v.number & 0xff));
      bool printable = v.number > 0x20 && v.number < 0x7f;
      return std::string(byte) + (printable ? std::string(" '") + static_cast<char>(v.number) + "'" : "");
    }
    case kWord:
      return v.on ? (c.debug.log_extended ? "extended" : "on") : "off";
    case kOptNumber:
      if (!v.on) return "off";
      return v.number == 0 ? "on" : std::to_string(v.number);
    case kNumber:
      return std::to_string(v.number);
  }
  return "?";
}

std::string signal_name(int sig) {
  if (sig == 0) return "off";
  if (sig == SIGUSR1) return "SIGUSR1";
  if (sig == SIGUSR2) return "SIGUSR2";
  int low = SIGRTMIN, high = SIGRTMAX;
  if (sig == low) return "SIGRTMIN";
  if (sig == high) return "SIGRTMAX";
  if (sig > low && sig < high)  // as kill -l names them: the nearer end of the range
    return sig - low <= (high - low) / 2 ? "SIGRTMIN+" + std::to_string(sig - low)
                                         : "SIGRTMAX-" + std::to_string(high - sig);
  return "signal " + std::to_string(sig);
}

std::optional<Variable> variable_named(std::string_view name) {
  for (size_t i = 0; i < kVariableCount; ++i)
    if (name == kVariables[i].name()) return static_cast<Variable>(i);
  return std::nullopt;
}

std::optional<Policy> policy_named(std::string_view name) {
  for (size_t i = 0; i < kPolicyCount; ++i) {
    const char* s = kPolicies[i].spelling();
    if (name.size() == strlen(s) && strncasecmp(name.data(), s, name.size()) == 0)
      return static_cast<Policy>(i);
  }
  return std::nullopt;
}

std::string with_commas(uint64_t v) {
  std::string digits = std::to_string(v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string human_bytes(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  size_t u = 0;
  while (v >= 1024 && u + 1 < sizeof(kUnits) / sizeof(kUnits[0])) v /= 1024, ++u;
  char buf[32];
  if (u == 0)
    snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(bytes));
  else
    snprintf(buf, sizeof(buf), v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, kUnits[u]);
  return buf;
}

}  // namespace aixmalloc::cli
