// libFuzzer target for the configuration parser (DESIGN.md invariant 6): arbitrary bytes become the
// variables and the parse context, and whatever they hold, parse_config must not crash, hang or read
// out of bounds, and what it produces must be well-formed.
//
//   input:    | context | set (2 bytes) | value \0 value \0 ... |   one value per variable, in
//                                                   options.def order (MALLOCTYPE, MALLOCOPTIONS,
//                                                   MALLOCBUCKETS, MALLOCMULTIHEAP, MALLOCDISCLAIM,
//                                                   MALLOCDEBUG, AIXMALLOC_STATS, ...)
//   context:  bit 0 a set-uid process (AT_SECURE), bit 1 a 32-bit program
//   set:      little-endian; bit v: variable v is set (to its field, or to "" when the input ends
//             before it)
//
// Checked: every diagnostic line up to the count is NUL-terminated within kLineLength, printable,
// and names its variable; no more lines than tokens plus options; the Config respects every option's
// range from kOptions, the policy matrix and the `built` flags; file destinations are never kept
// for a secure process; MALLOCDEBUG's settings are well-formed (catch_overflow never under 3.1,
// align 0 or a power of two, min <= max, at most kMaxFunctions NUL-terminated names); the same
// input parses to the same result twice.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "libmalloc/base/config.h"

using namespace aixmalloc;
static_assert(kVariableCount <= 16, "the `set` bytes have a bit per variable");

namespace {

[[noreturn]] void fail(const char* what, const Config& cfg) {
  fprintf(stderr, "config_fuzzer: %s\n", what);
  for (size_t i = 0; i < cfg.diagnostics.count && i < Diagnostics::kMaxLines; ++i)
    fprintf(stderr, "  line %zu: %.*s\n", i, static_cast<int>(Diagnostics::kLineLength), cfg.diagnostics.lines[i]);
  abort();
}

// Tokens the parser may diagnose one by one: comma-separated pieces of the list variables, the
// whole value of the others; in MALLOCDEBUG each name of a functionset too.
size_t token_count(Variable v, const char* s) {
  if (s == nullptr || *s == '\0') return 0;
  if (v != Variable::kMallocOptions && v != Variable::kMallocBuckets && v != Variable::kMallocMultiheap &&
      v != Variable::kMallocDebug)
    return 1;
  size_t n = 1;
  for (; *s; ++s) n += *s == ',' || (v == Variable::kMallocDebug && *s == ':');
  return n;
}

void check_destination(const Destination& d, const ParseContext& ctx, const Config& cfg) {
  if (d.kind > Destination::kPath) fail("destination kind out of range", cfg);
  if (d.kind == Destination::kPath) {
    if (ctx.secure) fail("a file destination was kept in a secure process", cfg);
    if (memchr(d.path, '\0', sizeof(d.path)) == nullptr) fail("destination path not NUL-terminated", cfg);
    if (d.path[0] == '\0') fail("empty destination path", cfg);
  }
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$' ||
         c == '.';
}

void check_debug(const ParseContext& ctx, const Config& cfg) {
  const DebugSettings& d = cfg.debug;
  if (cfg.enabled(OptionId::kCatchOverflow) && (cfg.policy == Policy::kV31 || cfg.policy == Policy::kV31_64))
    fail("catch_overflow on under 3.1", cfg);
  uint64_t align = cfg.value(OptionId::kAlign);
  if (align > 4096 || (align & (align - 1)) != 0) fail("align neither 0 nor a power of two up to 4096", cfg);
  if (d.range_min > d.range_max) fail("debug_range with min above max", cfg);
  if (!cfg.enabled(OptionId::kDebugRange) && (d.range_min != 0 || d.range_max != UINT64_MAX))
    fail("a range kept without debug_range", cfg);
  if (d.function_count > DebugSettings::kMaxFunctions) fail("more functionset names than kMaxFunctions", cfg);
  if (cfg.enabled(OptionId::kFunctionset) != (d.function_count > 0))
    fail("functionset on without a name, or names kept with it off", cfg);
  for (size_t f = 0; f < DebugSettings::kMaxFunctions; ++f) {
    const char* name = d.functions[f];
    const void* nul = memchr(name, '\0', DebugSettings::kFunctionLength);
    if (nul == nullptr) fail("functionset name not NUL-terminated within kFunctionLength", cfg);
    size_t n = static_cast<size_t>(static_cast<const char*>(nul) - name);
    if (f >= d.function_count) {
      if (n != 0) fail("a functionset name beyond function_count", cfg);
      continue;
    }
    if (n == 0 || (name[0] >= '0' && name[0] <= '9')) fail("an empty functionset name, or one starting with a digit", cfg);
    for (size_t k = 0; k < n; ++k)
      if (!is_name_char(name[k])) fail("a functionset name with a character a symbol cannot have", cfg);
    for (size_t g = 0; g < f; ++g)
      if (strcmp(d.functions[g], name) == 0) fail("a functionset name kept twice", cfg);
  }
  if (d.log_extended && !cfg.enabled(OptionId::kLog) && !cfg.enabled(OptionId::kExtended))
    fail("log_extended without log or extended", cfg);
  if (cfg.enabled(OptionId::kOutput) != (d.output.kind != Destination::kNone))
    fail("the output stream and the output option disagree", cfg);
  check_destination(d.output, ctx, cfg);
}

void check(const RawVariables& raw, const ParseContext& ctx, const Config& cfg) {
  const Diagnostics& d = cfg.diagnostics;
  if (d.count > Diagnostics::kMaxLines) fail("more diagnostic lines than the storage holds", cfg);
  if (d.dropped && d.count != Diagnostics::kMaxLines) fail("lines dropped before the storage was full", cfg);
  size_t tokens = 0;
  for (size_t v = 0; v < kVariableCount; ++v) tokens += token_count(static_cast<Variable>(v), raw.value[v]);
  if (d.total() > tokens + kOptionCount) fail("more diagnostic lines than tokens and options", cfg);
  // The lines past the count are whatever an earlier parse left there: a parse writes only the
  // lines it has (parse_config), and this Config is parsed into again and again.
  for (size_t i = 0; i < d.count; ++i) {
    const char* line = d.lines[i];
    const void* nul = memchr(line, '\0', Diagnostics::kLineLength);
    if (nul == nullptr) fail("diagnostic line not NUL-terminated within kLineLength", cfg);
    size_t n = static_cast<size_t>(static_cast<const char*>(nul) - line);
    if (n == 0) fail("empty diagnostic line", cfg);
    for (size_t k = 0; k < n; ++k) {
      auto c = static_cast<unsigned char>(line[k]);
      if (c < 0x20 || c > 0x7e) fail("non-printable byte in a diagnostic line", cfg);
    }
    bool named = false;
    for (const VariableSpec& var : kVariables) {
      size_t len = strlen(var.name());
      named |= n > len + 2 && memcmp(line, var.name(), len) == 0 && line[len] == ':' && line[len + 1] == ' ';
    }
    if (!named) fail("diagnostic line does not start with 'VARIABLE: '", cfg);
  }

  if (static_cast<size_t>(cfg.policy) >= kPolicyCount) fail("policy out of range", cfg);
  const PolicySpec& p = spec(cfg.policy);
  if (!p.built) fail("a policy this build does not serve was chosen", cfg);
  if (cfg.policy == Policy::kV31 && ctx.is_64bit) fail("3.1 chosen in a 64-bit program", cfg);
  if (cfg.enabled(OptionId::kCatchOverflow) && !(spec(OptionId::kCatchOverflow).policies &
                                                  (1u << static_cast<unsigned>(cfg.policy))))
    fail("catch_overflow on under a policy that refuses it", cfg);
  unsigned policy_bit = 1u << static_cast<unsigned>(cfg.policy);
  for (size_t i = 0; i < kOptionCount; ++i) {
    const OptionSpec& o = kOptions[i];
    const OptionValue& v = cfg.options[i];
    switch (o.arg) {
      case kNumber:
      case kOptNumber:
        if (!(static_cast<OptionId>(i) == OptionId::kPool && v.number == 0) && (v.number < o.min || v.number > o.max))
          fail((std::string(o.name()) + ": value outside the option's min..max").c_str(), cfg);
        break;
      case kFlag:
      case kDest:
      case kRange:
      case kNames:
      case kWord:
        if (v.number != 0) fail((std::string(o.name()) + ": a flag with a number").c_str(), cfg);
        break;
      case kOff:
        if (v.number > 1) fail((std::string(o.name()) + ": on/off value other than 0 or 1").c_str(), cfg);
        break;
      case kPattern:
        if (v.number > 0xff) fail((std::string(o.name()) + ": a byte above 255").c_str(), cfg);
        break;
    }
    if (v.on && !o.built) fail((std::string(o.name()) + ": on though not built").c_str(), cfg);
    if (v.on && !(o.policies & policy_bit)) fail((std::string(o.name()) + ": on under a policy it does not apply to").c_str(), cfg);
    if (static_cast<size_t>(v.source) >= kVariableCount) fail("option source out of range", cfg);
  }
  if (!cfg.enabled(OptionId::kBuckets) && cfg.bucket_statistics.kind != Destination::kNone)
    fail("bucket_statistics kept without buckets", cfg);
  check_destination(cfg.bucket_statistics, ctx, cfg);
  check_destination(cfg.stats, ctx, cfg);
  check_destination(cfg.stats_json, ctx, cfg);
  check_debug(ctx, cfg);
}

bool same(const Config& a, const Config& b) {
  if (a.policy != b.policy || a.policy_origin != b.policy_origin)
    return false;
  for (size_t i = 0; i < kOptionCount; ++i) {
    const OptionValue &x = a.options[i], &y = b.options[i];
    if (x.on != y.on || x.number != y.number || x.origin != y.origin || x.source != y.source) return false;
  }
  const DebugSettings &p = a.debug, &q = b.debug;
  if (p.range_min != q.range_min || p.range_max != q.range_max || p.function_count != q.function_count ||
      memcmp(p.functions, q.functions, sizeof(p.functions)) != 0 || p.log_extended != q.log_extended)
    return false;
  const Destination* mine[] = {&a.stats, &a.stats_json, &a.bucket_statistics, &p.output};
  const Destination* theirs[] = {&b.stats, &b.stats_json, &b.bucket_statistics, &q.output};
  for (size_t i = 0; i < 4; ++i)
    if (mine[i]->kind != theirs[i]->kind || strcmp(mine[i]->path, theirs[i]->path) != 0) return false;
  if (a.diagnostics.count != b.diagnostics.count || a.diagnostics.dropped != b.diagnostics.dropped)
    return false;
  for (size_t i = 0; i < a.diagnostics.count && i < Diagnostics::kMaxLines; ++i)
    if (strncmp(a.diagnostics.lines[i], b.diagnostics.lines[i], Diagnostics::kLineLength) != 0) return false;
  return true;
}

// Static, as the runtime's own Config is: too big for a fuzzer's stack twice over.
Config g_first, g_second;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  unsigned context = data[0], set = data[1] | (unsigned{data[2]} << 8);
  // The values must be NUL-terminated, as environ's are: one copy with a NUL after each field.
  std::string buf(reinterpret_cast<const char*>(data + 3), size - 3);
  buf.push_back('\0');
  RawVariables raw;
  size_t at = 0;
  for (size_t v = 0; v < kVariableCount; ++v) {
    const char* value = at < buf.size() ? buf.c_str() + at : "";
    if (set & (1u << v)) raw.value[v] = value;
    if (at < buf.size()) at += strlen(value) + 1;
  }
  ParseContext ctx;
  ctx.secure = (context & 1) != 0;
  ctx.is_64bit = (context & 2) == 0;
  parse_config(raw, ctx, &g_first);
  check(raw, ctx, g_first);
  parse_config(raw, ctx, &g_second);
  if (!same(g_first, g_second)) fail("the same input parsed twice gives two results", g_second);
  return 0;
}
