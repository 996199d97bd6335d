// MALLOCDEBUG's side of the configuration parser: the list itself (MALLOCOPTIONS' grammar, with the
// surrounding [ ] AIX also allows), the kinds of value only its options have (debug_range:min:max,
// functionset:f1:f2:..., fill's byte, log's word), and the rules read once every variable is in:
// catch_overflow's sub-options do nothing without it, and each one given alone gets a line.
#include <cstring>

#include "libmalloc/base/config_parser.h"

namespace aixmalloc::config_detail {

namespace {

// The one word of log (options.def: "log or log:extended").
constexpr const char* kLogWord = "extended";

// A C function name or a mangled C++ symbol (_ZN3foo3barEv), as the symbol table spells it:
// letters, digits, '_', '$' and '.', not starting with a digit. Demangled C++ names cannot be
// written: their "::" would split the list.
bool is_function_name(Span s) {
  if (s.empty() || (s.p[0] >= '0' && s.p[0] <= '9')) return false;
  for (size_t i = 0; i < s.n; ++i) {
    char c = s.p[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '$' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Splits `s` at its first ':' into *head and *rest (both trimmed); false when it has none.
bool split_colon(Span s, Span* head, Span* rest) {
  const void* colon = memchr(s.p, ':', s.n);
  if (colon == nullptr) {
    *head = trim(s);
    *rest = Span{"", 0};
    return false;
  }
  size_t at = static_cast<size_t>(static_cast<const char*>(colon) - s.p);
  *head = trim(Span{s.p, at});
  *rest = trim(Span{s.p + at + 1, s.n - at - 1});
  return true;
}

}  // namespace

void Parser::parse_debug(Span value) {
  value = trim(value);
  // AIX also writes the list in brackets: MALLOCDEBUG=[trace, other_option]. A bracket without its
  // partner stays in its token, which is then named as unknown.
  if (value.n >= 2 && value.p[0] == '[' && value.p[value.n - 1] == ']') value = Span{value.p + 1, value.n - 2};
  parse_tokens(Variable::kMallocDebug, value);
}

// debug_range:min:max, two numbers, min <= max. A bad range guards every size, as no range does.
void Parser::set_range(Variable var, OptionId id, bool has_value, Span value) {
  const OptionSpec& o = spec(id);
  DebugSettings& d = cfg_->debug;
  Span lo_text, hi_text;
  uint64_t lo = 0, hi = 0;
  bool two = split_colon(value, &lo_text, &hi_text);
  if (!has_value || value.empty()) {
    diag(var).str(o.name()).str(": needs a value (").str(o.name()).str(":min:max); guarding every size");
  } else if (!two || !parse_number(lo_text, &lo) || !parse_number(hi_text, &hi)) {
    diag(var).str(o.name()).str(": ").quoted(value.p, value.n)
        .str(" is not min:max (two numbers); guarding every size");
  } else if (lo > hi) {
    diag(var).str(o.name()).str(": min ").num(lo).str(" is above max ").num(hi).str("; guarding every size");
  } else {
    d.range_min = lo;
    d.range_max = hi;
    enable(id, var, 0);
    return;
  }
  done();
  d.range_min = 0;
  d.range_max = UINT64_MAX;
  refuse(id, var);
}

// functionset:f1:f2:... Up to kMaxFunctions names; each name that cannot be kept gets its line and
// the others are used. When none can, one line names the whole value and every caller is guarded.
void Parser::set_names(Variable var, OptionId id, bool has_value, Span value) {
  const OptionSpec& o = spec(id);
  DebugSettings& d = cfg_->debug;
  memset(d.functions, 0, sizeof(d.functions));  // the last functionset wins, whole
  d.function_count = 0;
  if (!has_value || value.empty()) {
    diag(var).str(o.name()).str(": needs a value (").str(o.name()).str(":f1:f2:...); guarding every caller");
    done();
    refuse(id, var);
    return;
  }
  // First pass: is any name usable? Then the lines can say what the set keeps.
  bool any = false;
  for (Span rest = value, name;;) {
    bool more = split_colon(rest, &name, &rest);
    any |= is_function_name(name) && name.n < DebugSettings::kFunctionLength;
    if (!more) break;
  }
  if (!any) {
    // What is used comes before the hint, which a long quoted value may cut off.
    diag(var).str(o.name()).str(": no usable name in ").quoted(value.p, value.n)
        .str("; guarding every caller (a name: at most ").num(DebugSettings::kFunctionLength - 1)
        .str(" letters, digits, '_', '$', '.')");
    done();
    refuse(id, var);
    return;
  }
  for (Span rest = value, name;;) {
    bool more = split_colon(rest, &name, &rest);
    if (!is_function_name(name)) {
      diag(var).str(o.name()).str(": ").quoted(name.p, name.n).str(" is not a function name; left out of the set");
      done();
    } else if (name.n >= DebugSettings::kFunctionLength) {
      diag(var).str(o.name()).str(": ").quoted(name.p, name.n).str(" is longer than ")
          .num(DebugSettings::kFunctionLength - 1).str(" characters; left out of the set");
      done();
    } else {
      bool seen = false;
      for (size_t f = 0; f < d.function_count; ++f)
        seen |= strlen(d.functions[f]) == name.n && memcmp(d.functions[f], name.p, name.n) == 0;
      if (seen) {
        // Named twice: the set is the same either way.
      } else if (d.function_count == DebugSettings::kMaxFunctions) {
        diag(var).str(o.name()).str(": ").quoted(name.p, name.n).str(" is past the limit of ")
            .num(DebugSettings::kMaxFunctions).str(" names; left out of the set");
        done();
      } else {
        memcpy(d.functions[d.function_count], name.p, name.n);
        d.functions[d.function_count][name.n] = '\0';
        ++d.function_count;
      }
    }
    if (!more) break;
  }
  enable(id, var, 0);
}

// fill, fill:0xNN, fill:decimal or fill:c (one character that is not a digit): the byte new blocks
// are filled with, in the option's number.
void Parser::set_pattern(Variable var, OptionId id, bool has_value, Span value) {
  const OptionSpec& o = spec(id);
  const uint64_t def = default_of(id);
  uint64_t n = def;
  if (!has_value) {
    // the default byte
  } else if (value.n == 1 && !(value.p[0] >= '0' && value.p[0] <= '9')) {
    n = static_cast<unsigned char>(value.p[0]);
  } else if (!parse_number(value, &n)) {
    diag(var).str(o.name()).str(": ").quoted(value.p, value.n)
        .str(" is not a byte (0xNN, 0-255 or one character); using ").hex(def);
    done();
    n = def;
  } else if (n > o.max) {
    diag(var).str(o.name()).str(": ").num(n).str(" is outside ").num(o.min).str("..").num(o.max)
        .str("; using ").hex(def);
    done();
    n = def;
  }
  enable(id, var, n);
}

// log or log:extended (the only word); another word logs without the extended record.
void Parser::set_word(Variable var, OptionId id, bool has_value, Span value) {
  const OptionSpec& o = spec(id);
  bool extended = has_value && value.equals(kLogWord);
  if (has_value && !extended) {
    diag(var).str(o.name()).str(": ").quoted(value.p, value.n).str(" is not '").str(kLogWord)
        .str("'; using ").str(o.name()).str(" without it");
    done();
  }
  cfg_->debug.log_extended = extended;
  enable(id, var, 0);
}

void Parser::apply_debug_rules() {
  Config& c = *cfg_;
  if (c.enabled(OptionId::kExtended)) c.debug.log_extended = true;  // `extended` on its own
  if (!c.enabled(OptionId::kLog) && !c.enabled(OptionId::kExtended)) c.debug.log_extended = false;
  if (!c.enabled(OptionId::kDebugRange)) c.debug.range_min = 0, c.debug.range_max = UINT64_MAX;
  if (!c.enabled(OptionId::kFunctionset)) {
    memset(c.debug.functions, 0, sizeof(c.debug.functions));
    c.debug.function_count = 0;
  }
  if (!c.enabled(OptionId::kOutput)) c.debug.output = Destination{};
  // A sub-option given without catch_overflow is kept, and said to do nothing; quarantine also
  // needs postfree_checking. A token that already earned a line gets no second one.
  bool guarding = c.enabled(OptionId::kCatchOverflow);
  for (OptionId id : kCatchOverflowOptions) {
    const OptionValue& v = c.option(id);
    if (!v.on || v.origin == Origin::kDefault || diagnosed_[static_cast<size_t>(id)]) continue;
    const char* needs = !guarding                                                             ? "catch_overflow"
                        : id == OptionId::kQuarantine && !c.enabled(OptionId::kPostfreeChecking) ? "postfree_checking"
                                                                                                 : nullptr;
    if (needs == nullptr) continue;
    const char* name = spec(id).name();
    diag(v.source).quoted(name, strlen(name)).str(" takes effect only with ").str(needs)
        .str(", which is not set; no effect");
    done();
  }
}

}  // namespace aixmalloc::config_detail
