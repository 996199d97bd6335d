// The parser behind every aixmalloc variable, on the grammar AIX documents for MALLOCOPTIONS,
// MALLOCBUCKETS, MALLOCMULTIHEAP and MALLOCDEBUG: comma-separated tokens, `name` or `name:value`,
// blanks around tokens trimmed, option names matched as documented (case sensitive), MALLOCTYPE
// values matched case-insensitively; a repeated option takes its last value; sub-options given in
// both MALLOCOPTIONS and a legacy variable take the MALLOCOPTIONS value.
// Every rejected token yields exactly one diagnostic saying what is used instead. MALLOCDEBUG's own
// kinds of value and its rules are in config_debug.cpp.
#include "libmalloc/base/config.h"

#include <cstddef>
#include <cstring>
#include <type_traits>

#include "libmalloc/base/config_parser.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/format.h"
#include "libmalloc/base/text_table.h"

namespace aixmalloc {

namespace {
// clang-format off
constexpr char kText[] =
#define AIXMALLOC_VARIABLE(id, name, doc) name "\0" doc "\0"
#include "libmalloc/base/options.def"
#define AIXMALLOC_POLICY(id, spelling, built, doc) spelling "\0" doc "\0"
#include "libmalloc/base/options.def"
#define AIXMALLOC_OPTION(id, name, where, arg, def, min, max, policies, built, doc) \
  name "\0" doc "\0"
#include "libmalloc/base/options.def"
    ;
// clang-format on
constexpr size_t kTexts = 2 * (kVariableCount + kPolicyCount + kOptionCount);
constexpr auto kAt = text_offsets<kTexts>(kText);
static_assert(kAt.found == kTexts, "options.def's strings and its tables disagree");
// The strings of a row: a variable's, a policy's after the variables', an option's after both.
constexpr uint16_t text_at(size_t row, unsigned which) { return kAt.at[2 * row + which]; }
constexpr size_t policy_row(Policy p) { return kVariableCount + static_cast<size_t>(p); }
constexpr size_t option_row(OptionId o) {
  return kVariableCount + kPolicyCount + static_cast<size_t>(o);
}
// What read_variables needs of each name: its length, and the first letters of them all. The
// environment of a program holds dozens of variables, few of them ours: an entry whose first
// letter begins no name of ours is passed over with one test (the loop that compared every name
// with every entry ran 7,000 instructions in every process, a tenth of the library's start).
struct NameIndex {
  uint8_t length[kVariableCount];
  uint64_t first[4];  // a bit for each byte that begins a name
};
constexpr NameIndex name_index() {
  NameIndex x{};
  for (size_t i = 0; i < kVariableCount; ++i) {
    const char* name = kText + text_at(i, 0);
    while (name[x.length[i]] != '\0') ++x.length[i];
    auto c = static_cast<unsigned char>(name[0]);
    x.first[c >> 6] |= uint64_t{1} << (c & 63);
  }
  return x;
}
constexpr NameIndex kNameIndex = name_index();
}  // namespace

const char* config_text(uint16_t at) { return kText + at; }

const VariableSpec kVariables[kVariableCount] = {
#define AIXMALLOC_VARIABLE(id, name, doc) \
  {text_at(static_cast<size_t>(Variable::id), 0), text_at(static_cast<size_t>(Variable::id), 1)},
#include "libmalloc/base/options.def"
};
const PolicySpec kPolicies[kPolicyCount] = {
#define AIXMALLOC_POLICY(id, spelling, built, doc) \
  {text_at(policy_row(Policy::id), 0), text_at(policy_row(Policy::id), 1), built != 0},
#include "libmalloc/base/options.def"
};
// The documentation line of multiheap (options.def) and aixmalloc(7) spell the limit out.
static_assert(kMaxHeaps == 32, "change the multiheap line of options.def and aixmalloc(7) too");

const OptionSpec kOptions[kOptionCount] = {
#define AIXMALLOC_OPTION(id, name, where, arg, def, min, max, policies, built, doc)    \
  {text_at(option_row(OptionId::id), 0), text_at(option_row(OptionId::id), 1), where, arg, \
   def, min, max, policies, built != 0},
#include "libmalloc/base/options.def"
};

namespace config_detail {

bool Span::iequals(const char* s) const {
  if (strlen(s) != n) return false;
  for (size_t i = 0; i < n; ++i) {
    char a = p[i], b = s[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
    if (a != b) return false;
  }
  return true;
}

Span trim(Span s) {
  while (s.n > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) ++s.p, --s.n;
  while (s.n > 0 && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t')) --s.n;
  return s;
}

bool parse_number(Span s, uint64_t* out) {
  if (s.empty()) return false;
  unsigned base = 10;
  if (s.n > 2 && s.p[0] == '0' && (s.p[1] == 'x' || s.p[1] == 'X')) {
    base = 16;
    s.p += 2, s.n -= 2;
  }
  uint64_t v = 0;
  for (size_t i = 0; i < s.n; ++i) {
    char c = s.p[i];
    unsigned d;
    if (c >= '0' && c <= '9') {
      d = static_cast<unsigned>(c - '0');
    } else if (base == 16 && c >= 'a' && c <= 'f') {
      d = static_cast<unsigned>(c - 'a' + 10);
    } else if (base == 16 && c >= 'A' && c <= 'F') {
      d = static_cast<unsigned>(c - 'A' + 10);
    } else {
      return false;
    }
    if (v > (UINT64_MAX - d) / base) return false;
    v = v * base + d;
  }
  *out = v;
  return true;
}

namespace {

// Decimal digits, or 0x and hexadecimal digits: a number's spelling, whatever its size.
bool spelled_as_number(Span s) {
  bool hex = s.n > 2 && s.p[0] == '0' && (s.p[1] == 'x' || s.p[1] == 'X');
  if (hex) s.p += 2, s.n -= 2;
  if (s.empty()) return false;
  for (size_t i = 0; i < s.n; ++i) {
    char c = s.p[i];
    bool digit = (c >= '0' && c <= '9') ||
                 (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
    if (!digit) return false;
  }
  return true;
}

}  // namespace

NumberProblem number_problem(Span s) {
  if (s.n > 1 && s.p[0] == '-' && spelled_as_number(Span{s.p + 1, s.n - 1}))
    return NumberProblem::kNegative;
  return spelled_as_number(s) ? NumberProblem::kTooLarge : NumberProblem::kNotANumber;
}

void Parser::done() {
  Diagnostics& d = cfg_->diagnostics;
  if (d.count < Diagnostics::kMaxLines) {
    size_t n = line_.size() < Diagnostics::kLineLength - 1 ? line_.size() : Diagnostics::kLineLength - 1;
    memcpy(d.lines[d.count], line_.data(), n);
    d.lines[d.count][n] = '\0';
    ++d.count;
  } else {
    ++d.dropped;
  }
}

bool Parser::applies(OptionId id) {
  const OptionSpec& o = spec(id);
  Variable var = current_;
  if (!(o.policies & (1u << static_cast<unsigned>(cfg_->policy)))) {
    diag(var).quoted(o.name(), strlen(o.name())).str(" does not apply to MALLOCTYPE=")
        .str(spec(cfg_->policy).spelling()).str("; ignored");
    done();
    refuse(id, var);
    return false;
  }
  if (!o.built) {
    diag(var).quoted(o.name(), strlen(o.name())).str(" is not available in this build; ignored");
    done();
    refuse(id, var);
    return false;
  }
  return true;
}

uint64_t Parser::default_of(OptionId id) const {
  if (id == OptionId::kAlign && !ctx_.is_64bit) return 8;  // AIX: 8 in 32-bit programs, 16 in 64-bit
  return spec(id).def;
}

void Parser::refuse(OptionId id, Variable var) {
  OptionValue& v = cfg_->option(id);
  v.on = false;
  v.number = default_of(id);
  v.origin = origin_of(var);
  v.source = var;
}

void Parser::parse_type(Span value) {
  Variable var = Variable::kMallocType;
  value = trim(value);
  if (value.empty()) {
    const char* name = ctx_.program_replacement;
    Span program{name, name != nullptr ? strlen(name) : 0};
    if (!program.empty()) parse_replacement(program, program);
    return;
  }
  const char* fallback = spec(Policy::kYorktown).spelling();
  if (value.n >= 5 && Span{value.p, 5}.iequals("user:"))
    return parse_replacement(value, Span{value.p + 5, value.n - 5});
  Policy chosen = Policy::kYorktown;
  bool known = false;
  for (size_t i = 0; i < kPolicyCount; ++i) {
    if (value.iequals(kPolicies[i].spelling()) && static_cast<Policy>(i) != Policy::kUser) {  // user:NAME
      chosen = static_cast<Policy>(i);
      known = true;
    }
  }
  if (known && chosen == Policy::kV31 && ctx_.is_64bit) {
    diag(var).quoted(value.p, value.n)
        .str(" applies to 32-bit programs only; using the default policy (")
        .str(fallback).str("); set 3.1_64BIT for the 3.1 allocator");
    done();
    return;
  }
  if (known) {
    if (!spec(chosen).built) {
      diag(var).str("policy ").quoted(value.p, value.n)
          .str(" is not available in this build; using the default policy (").str(fallback).ch(')');
      done();
      return;
    }
    cfg_->policy = chosen;
    cfg_->policy_origin = Origin::kVariable;
    return;
  }
  if (value.iequals("buckets")) {  // AIX 5.1 and 5.2's MALLOCOPTIONS=buckets
    enable(OptionId::kBuckets, var, 0);
    cfg_->option(OptionId::kBuckets).origin = Origin::kLegacy;
    return;
  }
  if (value.iequals("debug")) {  // AIX: the default policy with MALLOCDEBUG=catch_overflow
    current_ = var;
    if (applies(OptionId::kCatchOverflow)) {
      enable(OptionId::kCatchOverflow, var, 0);
      cfg_->option(OptionId::kCatchOverflow).origin = Origin::kLegacy;
    }
    return;
  }
  diag(var).str("unknown policy ").quoted(value.p, value.n)
      .str("; using the default policy (").str(fallback).ch(')');
  done();
}

// user:NAME. A set-uid or set-gid process loads only what its owner's system provides: a bare name,
// which the loader then looks up in the system's directories alone (it ignores LD_LIBRARY_PATH in
// such a process), or a path in /lib, /lib64, /usr/lib or /usr/lib64 with no "." or ".." in it.
void Parser::parse_replacement(Span value, Span name) {
  Variable var = Variable::kMallocType;
  const char* fallback = spec(Policy::kYorktown).spelling();
  name = trim(name);
  const char* why = nullptr;
  if (name.empty()) {
    why = " names no library";
  } else if (name.n >= sizeof(cfg_->replacement)) {
    why = " is too long a name";
  } else if (ctx_.secure && !trusted_library(name)) {
    why = " is refused in a set-uid or set-gid process (a bare name or a system directory only)";
  }
  if (why != nullptr) {
    diag(var).quoted(value.p, value.n).str(why).str("; using the default policy (").str(fallback).ch(')');
    done();
    return;
  }
  memcpy(cfg_->replacement, name.p, name.n);
  cfg_->replacement[name.n] = '\0';
  cfg_->policy = Policy::kUser;
  cfg_->policy_origin = Origin::kVariable;
}

bool Parser::trusted_library(Span name) {
  if (memchr(name.p, '/', name.n) == nullptr) return true;
  static const char* const kDirectories[] = {"/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/"};
  bool inside = false;
  for (const char* d : kDirectories)
    if (name.n > strlen(d) && memcmp(name.p, d, strlen(d)) == 0) inside = true;
  if (!inside) return false;
  for (size_t i = 0; i + 1 < name.n; ++i)
    if (name.p[i] == '/' && name.p[i + 1] == '.') return false;  // no ./ or ../ and no hidden file
  return true;
}

bool Parser::parse_destination(Variable var, const char* what, Span value, Destination* out,
                               const char* fallback) {
  if (value.equals("stdout")) {
    out->kind = Destination::kStdout;
    return true;
  }
  if (value.equals("stderr")) {
    out->kind = Destination::kStderr;
    return true;
  }
  if (value.empty()) {
    diag(var).str(what).str(": needs stdout, stderr or a file path; ").str(fallback);
    done();
    return false;
  }
  if (ctx_.secure) {
    diag(var).str(what).str(": file ").quoted(value.p, value.n)
        .str(" refused in a set-uid or set-gid process; ").str(fallback);
    done();
    return false;
  }
  if (value.n >= sizeof(out->path) || memchr(value.p, '\0', value.n) != nullptr) {
    diag(var).str(what).str(": path ").quoted(value.p, value.n).str(" is longer than ")
        .num(sizeof(out->path) - 1).str(" bytes; ").str(fallback);
    done();
    return false;
  }
  out->kind = Destination::kPath;
  memcpy(out->path, value.p, value.n);
  out->path[value.n] = '\0';
  return true;
}

void Parser::set_option(Variable var, OptionId id, bool has_value, Span value) {
  size_t before = cfg_->diagnostics.total();
  // One line per token: an option that does not apply is named for that alone, its value unread.
  if (applies(id)) set_value(var, id, has_value, value);
  diagnosed_[static_cast<size_t>(id)] = cfg_->diagnostics.total() > before;
}

void Parser::set_value(Variable var, OptionId id, bool has_value, Span value) {
  const OptionSpec& o = spec(id);
  switch (o.arg) {
    case kFlag:
      if (has_value) {
        diag(var).str(o.name()).str(": takes no value; ").quoted(value.p, value.n).str(" ignored");
        done();
      }
      enable(id, var, 0);
      return;
    case kOff:
      if (!has_value) {
        enable(id, var, 1);
      } else if (value.equals("off")) {
        enable(id, var, 0);
        cfg_->option(id).on = false;
      } else {
        diag(var).str(o.name()).str(": ").quoted(value.p, value.n)
            .str(" is not 'off'; the option is enabled");
        done();
        enable(id, var, 1);
      }
      return;
    case kDest: {
      // The debug output falls back to stderr; a refused report is not written at all.
      bool debug = id == OptionId::kOutput;
      Destination parsed;
      if (parse_destination(var, o.name(), has_value ? value : Span{"", 0}, &parsed,
                            debug ? "messages go to stderr" : "not written")) {
        *(debug ? &cfg_->debug.output : &cfg_->bucket_statistics) = parsed;
        enable(id, var, 0);
      } else if (debug) {
        cfg_->debug.output = Destination{};
        refuse(id, var);
      }
      return;
    }
    case kRange:
      return set_range(var, id, has_value, value);
    case kNames:
      return set_names(var, id, has_value, value);
    case kPattern:
      return set_pattern(var, id, has_value, value);
    case kWord:
      return set_word(var, id, has_value, value);
    case kOptNumber:
    case kNumber:
      return set_number(var, id, has_value, value);
  }
}

void Parser::set_number(Variable var, OptionId id, bool has_value, Span value) {
  const OptionSpec& o = spec(id);
  const uint64_t def = default_of(id);
  // What a refused value is replaced by, as the line says it.
  auto using_default = [&] {
    (def == 0 && id == OptionId::kPool ? line_.str("no cap") : line_.num(def));
    done();
  };
  uint64_t n = def;
  if (!has_value) {
    if (o.arg == kNumber) {
      diag(var).str(o.name()).str(": needs a value (").str(o.name()).str(":n); using ");
      using_default();
    }
  } else if (!parse_number(value, &n) && number_problem(value) == NumberProblem::kNotANumber) {
    diag(var).str(o.name()).str(": ").quoted(value.p, value.n).str(" is not a number; using ");
    using_default();
    n = def;
  } else if (!parse_number(value, &n)) {  // negative, or beyond 64 bits: out of range all the same
    diag(var).str(o.name()).str(": ");
    (value.n <= 40 ? line_.str(value.p, value.n) : line_.quoted(value.p, value.n, 40));
    line_.str(" is outside ").num(o.min).str("..").num(o.max).str("; using ");
    using_default();
    n = def;
  } else if (!(id == OptionId::kPool && n == 0) && (n < o.min || n > o.max)) {
    diag(var).str(o.name()).str(": ").num(n).str(" is outside ").num(o.min).str("..").num(o.max)
        .str("; using ");
    using_default();
    n = def;
  } else if (id == OptionId::kBucketSizingFactor && n % (ctx_.is_64bit ? 16 : 8) != 0) {
    diag(var).str(o.name()).str(": ").num(n).str(" is not a multiple of ")
        .num(ctx_.is_64bit ? 16 : 8).str("; using ");
    using_default();
    n = def;
  } else if (id == OptionId::kAlign && (n & (n - 1)) != 0) {
    diag(var).str(o.name()).str(": ").num(n).str(" is not 0 or a power of two; using ");
    using_default();
    n = def;
  }
  if (id == OptionId::kPool && n != 0) n = (n + 65535) & ~uint64_t{65535};  // whole pool pages
  enable(id, var, n);
  // Sub-options tune buckets but do not switch it on (AIX reads MALLOCBUCKETS only with it).
  if (id == OptionId::kNumberOfBuckets || id == OptionId::kBucketSizingFactor ||
      id == OptionId::kBlocksPerBucket)
    cfg_->option(id).on = false;
}

void Parser::parse_tokens(Variable var, Span value) {
  current_ = var;
  uint8_t where_bit = var == Variable::kMallocOptions   ? kInOptions
                      : var == Variable::kMallocBuckets ? kInBuckets
                      : var == Variable::kMallocDebug   ? kInDebug
                                                        : kInMultiheap;
  size_t start = 0;
  while (start <= value.n) {
    size_t end = start;
    while (end < value.n && value.p[end] != ',') ++end;
    Span token = trim(Span{value.p + start, end - start});
    start = end + 1;
    if (token.empty()) continue;
    Span name = token, arg{"", 0};
    bool has_value = false;
    if (const void* colon = memchr(token.p, ':', token.n)) {
      size_t at = static_cast<size_t>(static_cast<const char*>(colon) - token.p);
      name = trim(Span{token.p, at});
      arg = trim(Span{token.p + at + 1, token.n - at - 1});
      has_value = true;
    }
    bool matched = false;
    for (size_t i = 0; i < kOptionCount && !matched; ++i) {
      if (!name.equals(kOptions[i].name())) continue;
      matched = true;
      if (!(kOptions[i].where & where_bit)) {
        diag(var).quoted(name.p, name.n).str(" is not a ").str(spec(var).name())
            .str(" option; ignored");
        done();
      } else {
        set_option(var, static_cast<OptionId>(i), has_value, arg);
      }
    }
    if (matched) continue;
    if (var == Variable::kMallocMultiheap && name.equals("heaps")) {
      set_option(var, OptionId::kMultiheap, has_value, arg);
      if (!has_value) {
        diag(var).str("heaps: needs a value (heaps:n); using ").num(spec(OptionId::kMultiheap).def);
        done();
      }
      continue;
    }
    if (var == Variable::kMallocMultiheap && !has_value && (name.equals("1") || name.iequals("true"))) {
      enable(OptionId::kMultiheap, var, spec(OptionId::kMultiheap).def);
      continue;
    }
    diag(var).str("unknown option ").quoted(token.p, token.n).str("; ignored");
    done();
  }
}

void Parser::parse_multiheap(Span value) {
  value = trim(value);
  if (value.empty()) return;
  current_ = Variable::kMallocMultiheap;
  if (!applies(OptionId::kMultiheap)) return;  // one line for the whole variable
  // On AIX any value of the legacy variable enables multiheap; heaps:n then limits it.
  enable(OptionId::kMultiheap, Variable::kMallocMultiheap, spec(OptionId::kMultiheap).def);
  parse_tokens(Variable::kMallocMultiheap, value);
}

void Parser::parse_disclaim(Span value) {
  value = trim(value);
  if (value.empty() || value.iequals("false")) return;
  if (value.iequals("true")) {
    current_ = Variable::kMallocDisclaim;
    if (applies(OptionId::kDisclaim)) enable(OptionId::kDisclaim, Variable::kMallocDisclaim, 0);
    return;
  }
  diag(Variable::kMallocDisclaim).quoted(value.p, value.n)
      .str(" is not 'true'; disclaim stays off");
  done();
}

void Parser::apply_policy_matrix() {
  unsigned policy_bit = 1u << static_cast<unsigned>(cfg_->policy);
  for (size_t i = 0; i < kOptionCount; ++i) {
    OptionValue& v = cfg_->options[i];
    if (!v.on) continue;
    const OptionSpec& o = kOptions[i];
    if (!(o.policies & policy_bit) || cfg_->policy == Policy::kUser) {  // a replacement takes no option
      diag(v.source).quoted(o.name(), strlen(o.name())).str(" does not apply to MALLOCTYPE=")
          .str(spec(cfg_->policy).spelling()).str("; ignored");
      done();
      v.on = false;
    } else if (!o.built) {
      diag(v.source).quoted(o.name(), strlen(o.name()))
          .str(" is not available in this build; ignored");
      done();
      v.on = false;
    }
  }
  // AIX reads the bucket sub-options only with buckets: the summary is said to be left out.
  OptionValue& summary = cfg_->option(OptionId::kBucketStatistics);
  if (!cfg_->enabled(OptionId::kBuckets) && summary.on) {
    diag(summary.source)
        .str("bucket_statistics: has no effect without buckets; no summary is written");
    done();
    summary.on = false;
  }
  if (!cfg_->enabled(OptionId::kBuckets)) cfg_->bucket_statistics.kind = Destination::kNone;
  // As on AIX, the thread cache is on by default under Watson, off by default elsewhere.
  OptionValue& tc = cfg_->option(OptionId::kThreadcache);
  if (tc.origin == Origin::kDefault && cfg_->policy == Policy::kWatson) tc.on = true;
  // Watson2 gives memory back by itself: its heap of large blocks disclaims after a second.
  OptionValue& dc = cfg_->option(OptionId::kDisclaim);
  if (dc.origin == Origin::kDefault && cfg_->policy == Policy::kWatson2) dc.on = true;
}

}  // namespace config_detail

void parse_config(const RawVariables& vars, const ParseContext& ctx, Config* out) {
  // Config{} is all zero bits; the lines are left as they are, the count saying how many hold one.
  static_assert(std::is_trivially_copyable_v<Config>);
  memset(static_cast<void*>(out), 0, offsetof(Config, diagnostics.lines));
  out->debug.range_max = UINT64_MAX;
  config_detail::Parser p(ctx, out);
  for (size_t i = 0; i < kOptionCount; ++i) out->options[i].number = p.default_of(static_cast<OptionId>(i));
  auto span = [&](Variable v) {
    const char* s = vars[v];
    return config_detail::Span{s ? s : "", s ? strlen(s) : 0};
  };
  p.parse_type(span(Variable::kMallocType));
  // Legacy variables first, so that MALLOCOPTIONS, the newer mechanism, wins a conflict.
  p.parse_multiheap(span(Variable::kMallocMultiheap));
  p.parse_disclaim(span(Variable::kMallocDisclaim));
  p.parse_tokens(Variable::kMallocBuckets, span(Variable::kMallocBuckets));
  p.parse_tokens(Variable::kMallocOptions, span(Variable::kMallocOptions));
  p.parse_debug(span(Variable::kMallocDebug));
  p.parse_stats(Variable::kAixmallocStats, span(Variable::kAixmallocStats), &out->stats);
  p.parse_stats(Variable::kAixmallocStatsJson, span(Variable::kAixmallocStatsJson), &out->stats_json);
  p.parse_stats(Variable::kAixmallocLeaksJson, span(Variable::kAixmallocLeaksJson), &out->leaks_json);
  p.parse_signal(span(Variable::kAixmallocStatsSignal));
  p.parse_zero_size(span(Variable::kAixmallocZeroSize));
  p.parse_psalloc(span(Variable::kPsalloc), span(Variable::kNodisclaim));
  p.apply_policy_matrix();
  p.apply_debug_rules();
}

void read_variables(char* const* envp, RawVariables* vars) {
  *vars = RawVariables{};
  if (envp == nullptr) return;
  for (char* const* e = envp; *e != nullptr; ++e) {
    const char* entry = *e;
    auto c = static_cast<unsigned char>(entry[0]);
    if (!(kNameIndex.first[c >> 6] >> (c & 63) & 1)) continue;
    for (size_t i = 0; i < kVariableCount; ++i) {
      const char* name = kText + text_at(i, 0);
      size_t n = kNameIndex.length[i];
      size_t k = 0;
      while (k < n && entry[k] == name[k]) ++k;
      if (k == n && entry[n] == '=') vars->value[i] = entry + n + 1;
    }
  }
}

void print_diagnostics(const Diagnostics& d) {
  for (size_t i = 0; i < d.count; ++i) warn(d.lines[i], strlen(d.lines[i]));
  if (d.dropped) {
    TextBuf<96> t;
    t.num(d.dropped).str(" more configuration problems not shown");
    warn(t.data(), t.size());
  }
}

}  // namespace aixmalloc
