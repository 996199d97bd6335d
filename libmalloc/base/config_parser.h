// The configuration parser's insides, shared by its three files: config.cpp (the table,
// MALLOCTYPE, the option lists), config_debug.cpp (MALLOCDEBUG's values and its rules) and
// config_variables.cpp (aixmalloc's own variables, PSALLOC and NODISCLAIM). Nothing outside the
// parser and its unit tests includes this header; everyone else calls parse_config (config.h).
#pragma once

#include <cstring>

#include "libmalloc/base/config.h"
#include "libmalloc/base/format.h"

namespace aixmalloc::config_detail {

// A piece of a variable's value: not NUL-terminated, never copied.
struct Span {
  const char* p;
  size_t n;
  bool empty() const { return n == 0; }
  bool equals(const char* s) const { return strlen(s) == n && memcmp(p, s, n) == 0; }
  bool iequals(const char* s) const;
};

Span trim(Span s);  // blanks and tabs off both ends
// Decimal or 0x-hexadecimal, no sign, no suffix; false on anything else or on overflow.
bool parse_number(Span s, uint64_t* out);
// Why parse_number refused s: a number too large for 64 bits, a minus sign before a number (out
// of every option's range), or no number at all.
enum class NumberProblem { kNotANumber, kNegative, kTooLarge };
NumberProblem number_problem(Span s);

class Parser {
 public:
  Parser(const ParseContext& ctx, Config* cfg) : ctx_(ctx), cfg_(cfg) {}

  // Opens a diagnostic line "VAR: ..."; the caller appends the rest and calls done().
  Text& diag(Variable var) {
    line_.clear();
    return line_.str(spec(var).name()).str(": ");
  }
  void done();

  void parse_type(Span value);
  // MALLOCTYPE=user:NAME (`value`, for the diagnostic) or the program's name for its replacement.
  void parse_replacement(Span value, Span name);
  bool trusted_library(Span name);
  void parse_tokens(Variable var, Span value);
  void parse_multiheap(Span value);
  void parse_disclaim(Span value);
  void parse_debug(Span value);  // config_debug.cpp
  void parse_stats(Variable var, Span value, Destination* out);
  void parse_signal(Span value);
  void parse_zero_size(Span value);
  void parse_psalloc(Span psalloc, Span nodisclaim);
  void apply_policy_matrix();
  void apply_debug_rules();  // config_debug.cpp; after apply_policy_matrix

  // Reads one option's value into the Config, with one line for a value that cannot be used.
  // set_option first refuses an option this build or the policy lacks; set_value does not ask
  // (the unit tests read the values of options not built yet through it).
  void set_option(Variable var, OptionId id, bool has_value, Span value);
  void set_value(Variable var, OptionId id, bool has_value, Span value);

  // The option's default as this program reads it (align is 8 in a 32-bit program, as on AIX).
  uint64_t default_of(OptionId id) const;

 private:
  // False, with the token's one diagnostic, when the option cannot be used: AIX allows each option
  // under some MALLOCTYPEs only (options.def), or this build lacks it.
  bool applies(OptionId id);
  // `fallback` ends a refusal: what happens instead ("not written", "messages go to stderr").
  bool parse_destination(Variable var, const char* what, Span value, Destination* out,
                         const char* fallback = "not written");
  void set_number(Variable var, OptionId id, bool has_value, Span value);
  // config_debug.cpp: the kinds only MALLOCDEBUG has.
  void set_range(Variable var, OptionId id, bool has_value, Span value);
  void set_names(Variable var, OptionId id, bool has_value, Span value);
  void set_pattern(Variable var, OptionId id, bool has_value, Span value);
  void set_word(Variable var, OptionId id, bool has_value, Span value);
  // Given, but its value could not be used: off, and `check` shows it as ignored.
  void refuse(OptionId id, Variable var);

  Origin origin_of(Variable var) const {
    return var == Variable::kMallocType || var == Variable::kMallocOptions || var == Variable::kMallocDebug ||
                   var == Variable::kAixmallocStats || var == Variable::kAixmallocStatsJson
               ? Origin::kVariable
               : Origin::kLegacy;
  }
  void enable(OptionId id, Variable var, uint64_t number) {
    OptionValue& v = cfg_->option(id);
    v.on = true;
    v.number = number;
    v.origin = origin_of(var);
    v.source = var;
  }

  Variable current_ = Variable::kMallocOptions;
  const ParseContext& ctx_;
  Config* cfg_;
  // Whether the last token of each option already earned a line: a second line about the same
  // token (a sub-option without catch_overflow) is then left out, so each token gets one at most.
  bool diagnosed_[kOptionCount] = {};
  TextBuf<Diagnostics::kLineLength> line_;
};

}  // namespace aixmalloc::config_detail
