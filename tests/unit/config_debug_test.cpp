// The configuration parser on MALLOCDEBUG and MALLOCTYPE=debug: every option and kind of value,
// and every line a value that cannot be used earns, word for word.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "libmalloc/base/config.h"
#include "libmalloc/base/config_parser.h"

namespace aixmalloc {
namespace {

struct Parsed {
  Config cfg;
  std::vector<std::string> lines;
};

struct Context {
  bool secure = false;
  bool is_64bit = true;
};

Parsed parse(std::initializer_list<std::pair<Variable, const char*>> vars, Context c = {}) {
  RawVariables raw;
  for (auto& [v, s] : vars) raw[v] = s;
  ParseContext ctx;
  ctx.secure = c.secure;
  ctx.is_64bit = c.is_64bit;
  Parsed p;
  parse_config(raw, ctx, &p.cfg);
  for (size_t i = 0; i < p.cfg.diagnostics.count; ++i) p.lines.emplace_back(p.cfg.diagnostics.lines[i]);
  return p;
}

using V = Variable;
using O = OptionId;

Parsed debug(const char* value, Context c = {}) { return parse({{V::kMallocDebug, value}}, c); }

// The only line of a MALLOCDEBUG value, or "" when it has none (several fail the test).
std::string line_of(const char* value, Context c = {}) {
  Parsed p = debug(value, c);
  EXPECT_LE(p.lines.size(), 1u) << value;
  return p.lines.empty() ? "" : p.lines[0];
}

// --- the list ---------------------------------------------------------------------------------

TEST(ConfigDebug, NothingSetLeavesEveryToolOff) {
  for (const char* value : {"", " ", "[]", "[ ]", ",,"}) {
    Parsed p = debug(value);
    EXPECT_TRUE(p.lines.empty()) << value;
    for (size_t i = 0; i < kOptionCount; ++i) {
      if (!(kOptions[i].where & kInDebug)) continue;
      EXPECT_FALSE(p.cfg.options[i].on) << value << " " << kOptions[i].name();
    }
    EXPECT_EQ(p.cfg.debug.range_min, 0u);
    EXPECT_EQ(p.cfg.debug.range_max, UINT64_MAX);
    EXPECT_EQ(p.cfg.debug.function_count, 0u);
    EXPECT_EQ(p.cfg.debug.output.kind, Destination::kNone);
    EXPECT_FALSE(p.cfg.debug.log_extended);
  }
}

TEST(ConfigDebug, ListGrammarWithOrWithoutBrackets) {
  for (const char* value : {"catch_overflow,validate_ptrs", " catch_overflow , validate_ptrs ",
                            "[catch_overflow, validate_ptrs]", " [ catch_overflow,validate_ptrs ] ",
                            "\tcatch_overflow,,validate_ptrs,"}) {
    Parsed p = debug(value);
    EXPECT_TRUE(p.lines.empty()) << value << ": " << (p.lines.empty() ? "" : p.lines[0]);
    EXPECT_TRUE(p.cfg.enabled(O::kCatchOverflow)) << value;
    EXPECT_TRUE(p.cfg.enabled(O::kValidatePtrs)) << value;
    EXPECT_EQ(p.cfg.option(O::kCatchOverflow).origin, Origin::kVariable);
    EXPECT_EQ(p.cfg.option(O::kCatchOverflow).source, V::kMallocDebug);
  }
  // AIX's own examples.
  Parsed aix = debug("catch_overflow,align:16,allow_overreading");
  EXPECT_TRUE(aix.lines.empty());
  EXPECT_EQ(aix.cfg.value(O::kAlign), 16u);
  EXPECT_TRUE(aix.cfg.enabled(O::kAllowOverreading));
}

TEST(ConfigDebug, UnknownTokensAndUnmatchedBracketsAreNamed) {
  Parsed p = debug("bogus, catch_overflow, Excessive:1");
  ASSERT_EQ(p.lines.size(), 2u);
  EXPECT_EQ(p.lines[0], "MALLOCDEBUG: unknown option 'bogus'; ignored");
  EXPECT_EQ(p.lines[1], "MALLOCDEBUG: unknown option 'Excessive:1'; ignored");
  EXPECT_TRUE(p.cfg.enabled(O::kCatchOverflow));
  EXPECT_EQ(line_of("[catch_overflow"), "MALLOCDEBUG: unknown option '[catch_overflow'; ignored");
  EXPECT_EQ(line_of("catch_overflow]"), "MALLOCDEBUG: unknown option 'catch_overflow]'; ignored");
  EXPECT_EQ(line_of("Catch_Overflow"), "MALLOCDEBUG: unknown option 'Catch_Overflow'; ignored");
}

TEST(ConfigDebug, OptionsOfOneVariableAreRefusedInTheOther) {
  EXPECT_EQ(line_of("multiheap:4"), "MALLOCDEBUG: 'multiheap' is not a MALLOCDEBUG option; ignored");
  Parsed p = parse({{V::kMallocOptions, "catch_overflow,pool"}});
  ASSERT_EQ(p.lines.size(), 1u);
  EXPECT_EQ(p.lines[0], "MALLOCOPTIONS: 'catch_overflow' is not a MALLOCOPTIONS option; ignored");
  EXPECT_FALSE(p.cfg.enabled(O::kCatchOverflow));
  EXPECT_TRUE(p.cfg.enabled(O::kPool));
  Parsed b = parse({{V::kMallocBuckets, "fill"}});
  EXPECT_EQ(b.lines.at(0), "MALLOCBUCKETS: 'fill' is not a MALLOCBUCKETS option; ignored");
}

TEST(ConfigDebug, TheLastOfARepeatedOptionWins) {
  Parsed p = debug("catch_overflow,align:8,align:32,fill:1,fill:2,debug_range:1:2,debug_range:3:4");
  EXPECT_TRUE(p.lines.empty());
  EXPECT_EQ(p.cfg.value(O::kAlign), 32u);
  EXPECT_EQ(p.cfg.value(O::kFill), 2u);
  EXPECT_EQ(p.cfg.debug.range_min, 3u);
  EXPECT_EQ(p.cfg.debug.range_max, 4u);
}

TEST(ConfigDebug, FlagsTakeNoValue) {
  Parsed p = debug("catch_overflow:yes");
  ASSERT_EQ(p.lines.size(), 1u);
  EXPECT_EQ(p.lines[0], "MALLOCDEBUG: catch_overflow: takes no value; 'yes' ignored");
  EXPECT_TRUE(p.cfg.enabled(O::kCatchOverflow));
}

// --- catch_overflow and the policies -------------------------------------------------------------

TEST(ConfigDebug, MallocTypeDebugIsTheDefaultPolicyWithCatchOverflow) {
  for (const char* spelling : {"debug", "DEBUG", " Debug "}) {
    Parsed p = parse({{V::kMallocType, spelling}});
    EXPECT_TRUE(p.lines.empty()) << spelling;
    EXPECT_EQ(p.cfg.policy, Policy::kYorktown);
    const OptionValue& v = p.cfg.option(O::kCatchOverflow);
    EXPECT_TRUE(v.on) << spelling;
    EXPECT_EQ(v.origin, Origin::kLegacy);
    EXPECT_EQ(v.source, V::kMallocType);
  }
  // With MALLOCDEBUG's options as on AIX; sub-options need no second catch_overflow.
  Parsed with = parse({{V::kMallocType, "debug"}, {V::kMallocDebug, "align:4,postfree_checking"}});
  EXPECT_TRUE(with.lines.empty());
  EXPECT_EQ(with.cfg.value(O::kAlign), 4u);
  // MALLOCDEBUG's catch_overflow, the newer spelling, is the one shown.
  Parsed both = parse({{V::kMallocType, "debug"}, {V::kMallocDebug, "catch_overflow"}});
  EXPECT_EQ(both.cfg.option(O::kCatchOverflow).origin, Origin::kVariable);
  EXPECT_EQ(both.cfg.option(O::kCatchOverflow).source, V::kMallocDebug);
}

TEST(ConfigDebug, CatchOverflowAppliesToYorktownAndWatson) {
  for (const char* type : {"Yorktown", "watson"}) {
    Parsed p = parse({{V::kMallocType, type}, {V::kMallocDebug, "catch_overflow,sample:64"}});
    EXPECT_TRUE(p.lines.empty()) << type;
    EXPECT_TRUE(p.cfg.enabled(O::kCatchOverflow)) << type;
  }
}

TEST(ConfigDebug, CatchOverflowAndItsSubOptionsAreRefusedUnderThreeOne) {
  Parsed p = parse({{V::kMallocType, "3.1_64BIT"},
                    {V::kMallocDebug, "catch_overflow,align:4,debug_range:1:9,validate_ptrs,fill,checkarena"}});
  ASSERT_EQ(p.lines.size(), 4u);
  EXPECT_EQ(p.lines[0], "MALLOCDEBUG: 'catch_overflow' does not apply to MALLOCTYPE=3.1_64BIT; ignored");
  EXPECT_EQ(p.lines[1], "MALLOCDEBUG: 'align' does not apply to MALLOCTYPE=3.1_64BIT; ignored");
  EXPECT_EQ(p.lines[2], "MALLOCDEBUG: 'debug_range' does not apply to MALLOCTYPE=3.1_64BIT; ignored");
  EXPECT_EQ(p.lines[3], "MALLOCDEBUG: 'validate_ptrs' does not apply to MALLOCTYPE=3.1_64BIT; ignored");
  EXPECT_FALSE(p.cfg.enabled(O::kCatchOverflow));
  EXPECT_FALSE(p.cfg.enabled(O::kAlign));
  EXPECT_EQ(p.cfg.value(O::kAlign), 16u);
  EXPECT_EQ(p.cfg.debug.range_max, UINT64_MAX);
  // Recorded as given and refused, for `check`.
  EXPECT_EQ(p.cfg.option(O::kCatchOverflow).origin, Origin::kVariable);
  EXPECT_TRUE(p.cfg.enabled(O::kFill));  // these work over any policy
  EXPECT_TRUE(p.cfg.enabled(O::kCheckarena));
  Parsed old = parse({{V::kMallocType, "3.1"}, {V::kMallocDebug, "catch_overflow"}}, {.secure = false, .is_64bit = false});
  ASSERT_EQ(old.lines.size(), 1u);
  EXPECT_EQ(old.lines[0], "MALLOCDEBUG: 'catch_overflow' does not apply to MALLOCTYPE=3.1; ignored");
}

TEST(ConfigDebug, SubOptionsWithoutCatchOverflowSayTheyDoNothing) {
  for (OptionId id : kCatchOverflowOptions) {
    const OptionSpec& o = spec(id);
    std::string value = o.name();
    if (o.arg == kNumber) value += ":64";
    if (o.arg == kRange) value += ":1:64";
    if (o.arg == kNames) value += ":main";
    Parsed p = debug(value.c_str());
    EXPECT_TRUE(p.cfg.enabled(id)) << value;  // accepted
    ASSERT_EQ(p.lines.size(), 1u) << value;
    EXPECT_EQ(p.lines[0], std::string("MALLOCDEBUG: '") + o.name() +
                              "' takes effect only with catch_overflow, which is not set; no effect");
    std::string with = "catch_overflow," + value;
    if (id == O::kQuarantine) with += ",postfree_checking";
    EXPECT_TRUE(debug(with.c_str()).lines.empty()) << with;
  }
  EXPECT_EQ(line_of("catch_overflow,quarantine:4096"),
            "MALLOCDEBUG: 'quarantine' takes effect only with postfree_checking, which is not set; no effect");
  // The tools that work on their own say nothing.
  EXPECT_TRUE(debug("validate_ptrs,checkarena,verbose,fill,output:stderr,continue").lines.empty());
  // A refused value already has its line: no second one for the same token.
  EXPECT_EQ(line_of("align:3"), "MALLOCDEBUG: align: 3 is not 0 or a power of two; using 16");
  EXPECT_EQ(line_of("allow_overreading:1"), "MALLOCDEBUG: allow_overreading: takes no value; '1' ignored");
  // ... but a later, good value of it gets the note.
  Parsed p = debug("align:3,align:8");
  ASSERT_EQ(p.lines.size(), 2u);
  EXPECT_EQ(p.lines[1], "MALLOCDEBUG: 'align' takes effect only with catch_overflow, which is not set; no effect");
}

// --- numbers ------------------------------------------------------------------------------------

TEST(ConfigDebug, AlignIsZeroOrAPowerOfTwoUpTo4096) {
  for (uint64_t n : {0, 1, 2, 4, 8, 16, 64, 4096}) {
    std::string v = "catch_overflow,align:" + std::to_string(n);
    Parsed p = debug(v.c_str());
    EXPECT_TRUE(p.lines.empty()) << v;
    EXPECT_EQ(p.cfg.value(O::kAlign), n);
  }
  EXPECT_EQ(debug("catch_overflow,align:0x20").cfg.value(O::kAlign), 32u);
  struct Case {
    const char* value;
    const char* line;
  };
  for (Case c : {Case{"catch_overflow,align:3", "MALLOCDEBUG: align: 3 is not 0 or a power of two; using 16"},
                 Case{"catch_overflow,align:24", "MALLOCDEBUG: align: 24 is not 0 or a power of two; using 16"},
                 Case{"catch_overflow,align:8192", "MALLOCDEBUG: align: 8192 is outside 0..4096; using 16"},
                 Case{"catch_overflow,align:-8",
                      "MALLOCDEBUG: align: -8 is outside 0..4096; using 16"},
                 Case{"catch_overflow,align:", "MALLOCDEBUG: align: '' is not a number; using 16"},
                 Case{"catch_overflow,align", "MALLOCDEBUG: align: needs a value (align:n); using 16"}}) {
    Parsed p = debug(c.value);
    ASSERT_EQ(p.lines.size(), 1u) << c.value;
    EXPECT_EQ(p.lines[0], c.line);
    EXPECT_EQ(p.cfg.value(O::kAlign), 16u) << c.value;
  }
}

TEST(ConfigDebug, AlignDefaultsTo8InA32BitProgram) {
  Context c32{.secure = false, .is_64bit = false};
  EXPECT_EQ(parse({}, c32).cfg.value(O::kAlign), 8u);
  EXPECT_EQ(parse({}).cfg.value(O::kAlign), 16u);
  Parsed p = debug("catch_overflow,align:12", c32);
  EXPECT_EQ(p.cfg.value(O::kAlign), 8u);
  EXPECT_EQ(p.lines.at(0), "MALLOCDEBUG: align: 12 is not 0 or a power of two; using 8");
}

TEST(ConfigDebug, QuarantineAndSample) {
  Parsed q = debug("catch_overflow,postfree_checking,quarantine:0x100000");
  EXPECT_TRUE(q.lines.empty());
  EXPECT_EQ(q.cfg.value(O::kQuarantine), 1048576u);
  EXPECT_EQ(debug("catch_overflow,postfree_checking,quarantine:0").cfg.value(O::kQuarantine), 0u);
  EXPECT_EQ(line_of("catch_overflow,postfree_checking,quarantine"),
            "MALLOCDEBUG: quarantine: needs a value (quarantine:n); using 268435456");
  EXPECT_EQ(line_of("catch_overflow,postfree_checking,quarantine:2000000000000"),
            "MALLOCDEBUG: quarantine: 2000000000000 is outside 0..1099511627776; using 268435456");

  Parsed s = debug("catch_overflow,sample");
  EXPECT_TRUE(s.lines.empty());
  EXPECT_TRUE(s.cfg.enabled(O::kSample));
  EXPECT_EQ(s.cfg.value(O::kSample), 4096u);
  EXPECT_EQ(debug("catch_overflow,sample:1").cfg.value(O::kSample), 1u);
  EXPECT_EQ(line_of("catch_overflow,sample:0"), "MALLOCDEBUG: sample: 0 is outside 1..4294967296; using 4096");
  EXPECT_EQ(line_of("catch_overflow,sample:often"), "MALLOCDEBUG: sample: 'often' is not a number; using 4096");
  EXPECT_FALSE(debug("catch_overflow").cfg.enabled(O::kSample));
}

// --- debug_range --------------------------------------------------------------------------------

TEST(ConfigDebug, DebugRange) {
  Parsed p = debug("catch_overflow,debug_range:16:0x1000");
  EXPECT_TRUE(p.lines.empty());
  EXPECT_TRUE(p.cfg.enabled(O::kDebugRange));
  EXPECT_EQ(p.cfg.debug.range_min, 16u);
  EXPECT_EQ(p.cfg.debug.range_max, 4096u);
  Parsed one = debug("catch_overflow,debug_range: 8 : 8 ");
  EXPECT_TRUE(one.lines.empty());
  EXPECT_EQ(one.cfg.debug.range_min, 8u);
  EXPECT_EQ(one.cfg.debug.range_max, 8u);

  struct Case {
    const char* value;
    const char* line;
  };
  for (Case c : {Case{"debug_range:100:10", "debug_range: min 100 is above max 10; guarding every size"},
                 Case{"debug_range:5", "debug_range: '5' is not min:max (two numbers); guarding every size"},
                 Case{"debug_range:5:", "debug_range: '5:' is not min:max (two numbers); guarding every size"},
                 Case{"debug_range::5", "debug_range: ':5' is not min:max (two numbers); guarding every size"},
                 Case{"debug_range:1:2:3", "debug_range: '1:2:3' is not min:max (two numbers); guarding every size"},
                 Case{"debug_range:a:b", "debug_range: 'a:b' is not min:max (two numbers); guarding every size"},
                 Case{"debug_range:-1:5", "debug_range: '-1:5' is not min:max (two numbers); guarding every size"},
                 Case{"debug_range:", "debug_range: needs a value (debug_range:min:max); guarding every size"},
                 Case{"debug_range", "debug_range: needs a value (debug_range:min:max); guarding every size"}}) {
    std::string value = std::string("catch_overflow,") + c.value;
    Parsed bad = debug(value.c_str());
    ASSERT_EQ(bad.lines.size(), 1u) << c.value;
    EXPECT_EQ(bad.lines[0], std::string("MALLOCDEBUG: ") + c.line);
    EXPECT_FALSE(bad.cfg.enabled(O::kDebugRange)) << c.value;
    EXPECT_EQ(bad.cfg.option(O::kDebugRange).origin, Origin::kVariable);  // given, refused
    EXPECT_EQ(bad.cfg.debug.range_min, 0u);
    EXPECT_EQ(bad.cfg.debug.range_max, UINT64_MAX);
  }
  // A bad range after a good one leaves every size guarded, as its line says.
  Parsed later = debug("catch_overflow,debug_range:1:2,debug_range:9:1");
  EXPECT_FALSE(later.cfg.enabled(O::kDebugRange));
  EXPECT_EQ(later.cfg.debug.range_max, UINT64_MAX);
}

// --- functionset --------------------------------------------------------------------------------

TEST(ConfigDebug, FunctionsetNames) {
  Parsed p = debug("catch_overflow,functionset:main: parse_config :_ZN3foo3barEv:$x:f.cold");
  EXPECT_TRUE(p.lines.empty()) << p.lines.at(0);
  ASSERT_EQ(p.cfg.debug.function_count, 5u);
  EXPECT_STREQ(p.cfg.debug.functions[0], "main");
  EXPECT_STREQ(p.cfg.debug.functions[1], "parse_config");
  EXPECT_STREQ(p.cfg.debug.functions[2], "_ZN3foo3barEv");
  EXPECT_STREQ(p.cfg.debug.functions[3], "$x");
  EXPECT_STREQ(p.cfg.debug.functions[4], "f.cold");
  // A name given twice counts once.
  EXPECT_EQ(debug("catch_overflow,functionset:a:b:a").cfg.debug.function_count, 2u);
  // The last functionset replaces the whole set.
  Parsed last = debug("catch_overflow,functionset:a:b:c,functionset:d");
  ASSERT_EQ(last.cfg.debug.function_count, 1u);
  EXPECT_STREQ(last.cfg.debug.functions[0], "d");
  EXPECT_EQ(last.cfg.debug.functions[1][0], '\0');
}

TEST(ConfigDebug, FunctionsetBadNamesAreLeftOutOneLineEach) {
  Parsed p = debug("catch_overflow,functionset:good:bad-name:9lives::also_good");
  ASSERT_EQ(p.lines.size(), 3u);
  EXPECT_EQ(p.lines[0], "MALLOCDEBUG: functionset: 'bad-name' is not a function name; left out of the set");
  EXPECT_EQ(p.lines[1], "MALLOCDEBUG: functionset: '9lives' is not a function name; left out of the set");
  EXPECT_EQ(p.lines[2], "MALLOCDEBUG: functionset: '' is not a function name; left out of the set");
  ASSERT_EQ(p.cfg.debug.function_count, 2u);
  EXPECT_STREQ(p.cfg.debug.functions[1], "also_good");

  std::string longest(DebugSettings::kFunctionLength - 1, 'f'), too_long(DebugSettings::kFunctionLength, 'g');
  std::string value = "catch_overflow,functionset:" + longest + ":" + too_long;
  Parsed length = debug(value.c_str());
  ASSERT_EQ(length.lines.size(), 1u);
  EXPECT_EQ(length.lines[0], "MALLOCDEBUG: functionset: '" + too_long + "' is longer than 63 characters; left out of the set");
  ASSERT_EQ(length.cfg.debug.function_count, 1u);
  EXPECT_EQ(std::string(length.cfg.debug.functions[0]), longest);
}

TEST(ConfigDebug, FunctionsetKeepsAtMostEightNames) {
  Parsed p = debug("catch_overflow,functionset:f1:f2:f3:f4:f5:f6:f7:f8:f9:f10");
  ASSERT_EQ(p.lines.size(), 2u);
  EXPECT_EQ(p.lines[0], "MALLOCDEBUG: functionset: 'f9' is past the limit of 8 names; left out of the set");
  EXPECT_EQ(p.lines[1], "MALLOCDEBUG: functionset: 'f10' is past the limit of 8 names; left out of the set");
  ASSERT_EQ(p.cfg.debug.function_count, DebugSettings::kMaxFunctions);
  for (size_t f = 0; f < DebugSettings::kMaxFunctions; ++f) {
    EXPECT_EQ(std::string(p.cfg.debug.functions[f]), "f" + std::to_string(f + 1));
    EXPECT_NE(memchr(p.cfg.debug.functions[f], '\0', DebugSettings::kFunctionLength), nullptr);
  }
}

TEST(ConfigDebug, FunctionsetWithoutAUsableNameGuardsEveryCaller) {
  Parsed none = debug("catch_overflow,functionset:a-b:1:");
  ASSERT_EQ(none.lines.size(), 1u);
  EXPECT_EQ(none.lines[0],
            "MALLOCDEBUG: functionset: no usable name in 'a-b:1:'; guarding every caller (a name: at most 63 "
            "letters, digits, '_', '$', '.')");
  EXPECT_FALSE(none.cfg.enabled(O::kFunctionset));
  EXPECT_EQ(none.cfg.debug.function_count, 0u);
  for (const char* empty : {"catch_overflow,functionset", "catch_overflow,functionset:"})
    EXPECT_EQ(line_of(empty), "MALLOCDEBUG: functionset: needs a value (functionset:f1:f2:...); guarding every caller");
  // A refused functionset after a good one empties the set.
  Parsed later = debug("catch_overflow,functionset:main,functionset:-");
  EXPECT_FALSE(later.cfg.enabled(O::kFunctionset));
  EXPECT_EQ(later.cfg.debug.function_count, 0u);
  EXPECT_EQ(later.cfg.debug.functions[0][0], '\0');
}

// --- fill ---------------------------------------------------------------------------------------

TEST(ConfigDebug, FillByte) {
  struct Case {
    const char* value;
    uint64_t byte;
  };
  for (Case c : {Case{"fill", 0xa5}, Case{"fill:0x00", 0}, Case{"fill:0xff", 255}, Case{"fill:0XAB", 0xab},
                 Case{"fill:255", 255}, Case{"fill:5", 5}, Case{"fill:c", 'c'}, Case{"fill:Z", 'Z'},
                 Case{"fill:*", '*'}, Case{"fill::", ':'}, Case{"fill: x ", 'x'}}) {
    Parsed p = debug(c.value);
    EXPECT_TRUE(p.lines.empty()) << c.value;
    EXPECT_TRUE(p.cfg.enabled(O::kFill)) << c.value;
    EXPECT_EQ(p.cfg.value(O::kFill), c.byte) << c.value;
  }
  EXPECT_FALSE(debug("").cfg.enabled(O::kFill));
  EXPECT_EQ(parse({}).cfg.value(O::kFill), 0xa5u);
}

TEST(ConfigDebug, FillRefusesWhatIsNotAByte) {
  struct Case {
    const char* value;
    const char* line;
  };
  for (Case c : {Case{"fill:zz", "fill: 'zz' is not a byte (0xNN, 0-255 or one character); using 0xa5"},
                 Case{"fill:0x", "fill: '0x' is not a byte (0xNN, 0-255 or one character); using 0xa5"},
                 Case{"fill:-1", "fill: '-1' is not a byte (0xNN, 0-255 or one character); using 0xa5"},
                 Case{"fill:", "fill: '' is not a byte (0xNN, 0-255 or one character); using 0xa5"},
                 Case{"fill:\xff\xfe", "fill: '\\xff\\xfe' is not a byte (0xNN, 0-255 or one character); using 0xa5"},
                 Case{"fill:256", "fill: 256 is outside 0..255; using 0xa5"},
                 Case{"fill:0x100", "fill: 256 is outside 0..255; using 0xa5"}}) {
    Parsed p = debug(c.value);
    ASSERT_EQ(p.lines.size(), 1u) << c.value;
    EXPECT_EQ(p.lines[0], std::string("MALLOCDEBUG: ") + c.line);
    EXPECT_TRUE(p.cfg.enabled(O::kFill));
    EXPECT_EQ(p.cfg.value(O::kFill), 0xa5u);
  }
}

// --- output -------------------------------------------------------------------------------------

TEST(ConfigDebug, OutputDestinations) {
  EXPECT_EQ(debug("output:stdout").cfg.debug.output.kind, Destination::kStdout);
  EXPECT_EQ(debug("output:stderr").cfg.debug.output.kind, Destination::kStderr);
  Parsed file = debug("validate_ptrs,output:/tmp/debug.%p.txt");
  EXPECT_TRUE(file.lines.empty());
  EXPECT_TRUE(file.cfg.enabled(O::kOutput));
  EXPECT_EQ(file.cfg.debug.output.kind, Destination::kPath);
  EXPECT_STREQ(file.cfg.debug.output.path, "/tmp/debug.%p.txt");
  // The output stream is not bucket_statistics' destination.
  EXPECT_EQ(file.cfg.bucket_statistics.kind, Destination::kNone);
}

TEST(ConfigDebug, OutputRefusalsFallBackToStderr) {
  for (const char* empty : {"output", "output:", "output: "}) {
    Parsed p = debug(empty);
    ASSERT_EQ(p.lines.size(), 1u) << empty;
    EXPECT_EQ(p.lines[0], "MALLOCDEBUG: output: needs stdout, stderr or a file path; messages go to stderr");
    EXPECT_EQ(p.cfg.debug.output.kind, Destination::kNone);
    EXPECT_FALSE(p.cfg.enabled(O::kOutput));
  }
  std::string long_path = "output:" + std::string(300, 'p');
  Parsed too_long = debug(long_path.c_str());
  ASSERT_EQ(too_long.lines.size(), 1u);
  EXPECT_NE(too_long.lines[0].find("is longer than 255 bytes; messages go to stderr"), std::string::npos)
      << too_long.lines[0];
  // A refused value after a good one: stderr, as the line says.
  Parsed later = debug("output:stdout,output:");
  EXPECT_EQ(later.cfg.debug.output.kind, Destination::kNone);
}

TEST(ConfigDebug, OutputFilesAreRefusedInASetuidProcess) {
  Context secure{.secure = true, .is_64bit = true};
  for (const char* path : {"/tmp/debug.txt", "debug.%p", "/etc/passwd"}) {
    std::string value = std::string("catch_overflow,output:") + path;
    Parsed p = debug(value.c_str(), secure);
    ASSERT_EQ(p.lines.size(), 1u) << path;
    EXPECT_EQ(p.lines[0], std::string("MALLOCDEBUG: output: file '") + path +
                              "' refused in a set-uid or set-gid process; messages go to stderr");
    EXPECT_EQ(p.cfg.debug.output.kind, Destination::kNone);
    EXPECT_TRUE(p.cfg.enabled(O::kCatchOverflow));
  }
  EXPECT_EQ(debug("output:stdout", secure).cfg.debug.output.kind, Destination::kStdout);
  EXPECT_TRUE(debug("output:stderr", secure).lines.empty());
}

// --- the tools this build does not have ---------------------------------------------------------

TEST(ConfigDebug, PartTwoOptionsAreNamedAsNotInThisBuild) {
  for (const char* value : {"log", "log:extended", "extended", "stack_depth:6", "stack_depth:999",
                            "report_allocations", "record_allocations", "trace"}) {
    std::string name(value, strcspn(value, ":"));
    OptionId id{};
    for (size_t i = 0; i < kOptionCount; ++i)
      if (name == kOptions[i].name()) id = static_cast<OptionId>(i);
    if (spec(id).built) continue;  // once built, its own tests take over
    Parsed p = debug(value);
    ASSERT_EQ(p.lines.size(), 1u) << value;
    EXPECT_EQ(p.lines[0], "MALLOCDEBUG: '" + name + "' is not available in this build; ignored");
    EXPECT_FALSE(p.cfg.enabled(id));
    EXPECT_FALSE(p.cfg.debug.log_extended);
  }
  // AIX's example combination: one line per token this build lacks, nothing else.
  Parsed p = debug("[trace, log:extended, stack_depth:6, catch_overflow]");
  EXPECT_TRUE(p.cfg.enabled(O::kCatchOverflow));
  EXPECT_EQ(p.cfg.enabled(O::kTrace), spec(O::kTrace).built);
  size_t missing = 0;
  for (OptionId id : {O::kTrace, O::kLog, O::kStackDepth}) missing += !spec(id).built;
  EXPECT_EQ(p.lines.size(), missing);
  if (spec(O::kLog).built) {
    EXPECT_TRUE(p.cfg.enabled(O::kLog));
    EXPECT_TRUE(p.cfg.debug.log_extended);
    EXPECT_EQ(p.cfg.value(O::kStackDepth), 6u);
  }
}

TEST(ConfigDebug, Trace) {
  Parsed p = debug("trace");
  EXPECT_TRUE(p.lines.empty());
  EXPECT_TRUE(p.cfg.enabled(O::kTrace));
  EXPECT_EQ(p.cfg.debug.output.kind, Destination::kNone);  // stderr, as every debug message
  Parsed to_file = debug("trace,output:/tmp/trace.%p");
  EXPECT_TRUE(to_file.cfg.enabled(O::kTrace));
  EXPECT_EQ(to_file.cfg.debug.output.kind, Destination::kPath);
  Parsed with_value = debug("trace:1");
  ASSERT_EQ(with_value.lines.size(), 1u);
  EXPECT_EQ(with_value.lines[0], "MALLOCDEBUG: trace: takes no value; '1' ignored");
  EXPECT_TRUE(with_value.cfg.enabled(O::kTrace));
  for (const char* type : {"3.1_64BIT", "watson"}) {  // AIX allows trace under every policy
    RawVariables raw;
    raw[V::kMallocType] = type;
    raw[V::kMallocDebug] = "trace";
    Config c;
    parse_config(raw, ParseContext{}, &c);
    EXPECT_TRUE(c.enabled(O::kTrace)) << type;
    EXPECT_EQ(c.diagnostics.count, 0u) << type;
  }
}

// log's word, read as it will be once the Malloc Log is built (the parser's value reader directly:
// parse_config refuses log before reading its value in this build).
TEST(ConfigDebug, LogWord) {
  auto read = [](bool has_value, const char* word) {
    Parsed p;
    ParseContext ctx;
    config_detail::Parser parser(ctx, &p.cfg);
    parser.set_value(V::kMallocDebug, O::kLog, has_value, config_detail::Span{word, strlen(word)});
    for (size_t i = 0; i < p.cfg.diagnostics.count; ++i) p.lines.emplace_back(p.cfg.diagnostics.lines[i]);
    return p;
  };
  Parsed plain = read(false, "");
  EXPECT_TRUE(plain.cfg.enabled(O::kLog));
  EXPECT_FALSE(plain.cfg.debug.log_extended);
  EXPECT_TRUE(plain.lines.empty());
  Parsed extended = read(true, "extended");
  EXPECT_TRUE(extended.cfg.debug.log_extended);
  EXPECT_TRUE(extended.lines.empty());
  Parsed other = read(true, "verbose");
  EXPECT_TRUE(other.cfg.enabled(O::kLog));
  EXPECT_FALSE(other.cfg.debug.log_extended);
  ASSERT_EQ(other.lines.size(), 1u);
  EXPECT_EQ(other.lines[0], "MALLOCDEBUG: log: 'verbose' is not 'extended'; using log without it");
}

TEST(ConfigDebug, EveryDebugOptionIsReadFromMallocDebugOnly) {
  for (size_t i = 0; i < kOptionCount; ++i) {
    const OptionSpec& o = kOptions[i];
    if (!(o.where & kInDebug)) continue;
    EXPECT_EQ(o.where, kInDebug) << o.name();
    Parsed p = parse({{V::kMallocOptions, o.name()}});
    ASSERT_EQ(p.lines.size(), 1u) << o.name();
    EXPECT_EQ(p.lines[0], std::string("MALLOCOPTIONS: '") + o.name() + "' is not a MALLOCOPTIONS option; ignored");
  }
}

}  // namespace
}  // namespace aixmalloc
