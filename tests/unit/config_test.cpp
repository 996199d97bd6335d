// The configuration parser: every accepted form, and every rejection with its exact diagnostic.
#include "libmalloc/base/config.h"

#include <signal.h>

#include <cstddef>
#include <cstring>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace aixmalloc {
namespace {

struct Parsed {
  Config cfg;
  std::vector<std::string> lines;
};

Parsed parse(std::initializer_list<std::pair<Variable, const char*>> vars, bool secure = false) {
  RawVariables raw;
  for (auto& [v, s] : vars) raw[v] = s;
  ParseContext ctx;
  ctx.secure = secure;
  Parsed p;
  parse_config(raw, ctx, &p.cfg);
  for (size_t i = 0; i < p.cfg.diagnostics.count; ++i) p.lines.emplace_back(p.cfg.diagnostics.lines[i]);
  return p;
}

using V = Variable;
using O = OptionId;

TEST(Config, DefaultsWithNothingSet) {
  Parsed p = parse({});
  EXPECT_EQ(p.cfg.policy, Policy::kYorktown);
  EXPECT_EQ(p.cfg.policy_origin, Origin::kDefault);
  EXPECT_TRUE(p.lines.empty());
  for (size_t i = 0; i < kOptionCount; ++i) {
    EXPECT_FALSE(p.cfg.options[i].on) << kOptions[i].name();
    EXPECT_EQ(p.cfg.options[i].number, kOptions[i].def) << kOptions[i].name();
  }
}

// The runtime's Config lies in .bss and a process whose variables are fine writes only its first
// page: a Config not yet parsed is all zero bits, and a parse with nothing to say leaves the lines
// (4.8 KiB, after everything else) as they were.
TEST(Config, UnparsedIsZeroBitsAndAQuietParseLeavesTheLinesAlone) {
  static Config fresh{};
  const auto* bytes = reinterpret_cast<const unsigned char*>(&fresh);
  size_t nonzero = 0;
  for (size_t i = 0; i < sizeof fresh; ++i) nonzero += bytes[i] != 0;
  EXPECT_EQ(nonzero, 0u);
  EXPECT_EQ(offsetof(Config, diagnostics.lines) + sizeof(Diagnostics::lines), sizeof(Config));

  static Config c;
  memset(static_cast<void*>(&c), 'x', sizeof c);
  parse_config(RawVariables{}, ParseContext{}, &c);
  EXPECT_EQ(c.diagnostics.count, 0u);
  EXPECT_EQ(c.diagnostics.dropped, 0u);
  EXPECT_EQ(c.debug.range_max, UINT64_MAX);
  EXPECT_EQ(c.debug.output.kind, Destination::kNone);
  EXPECT_EQ(c.replacement[0], '\0');
  EXPECT_EQ(c.diagnostics.lines[0][0], 'x');
  EXPECT_EQ(c.diagnostics.lines[Diagnostics::kMaxLines - 1][Diagnostics::kLineLength - 1], 'x');

  // A second parse that has something to say writes its line and counts it.
  RawVariables bad;
  bad[Variable::kMallocType] = "nonsense";
  parse_config(bad, ParseContext{}, &c);
  ASSERT_EQ(c.diagnostics.count, 1u);
  EXPECT_NE(std::string(c.diagnostics.lines[0]).find("nonsense"), std::string::npos);
}

TEST(Config, MallocTypeSpellingsAreCaseInsensitive) {
  for (const char* s : {"Yorktown", "yorktown", "YORKTOWN", " Yorktown "}) {
    Parsed p = parse({{V::kMallocType, s}});
    EXPECT_EQ(p.cfg.policy, Policy::kYorktown) << s;
    EXPECT_EQ(p.cfg.policy_origin, Origin::kVariable) << s;
    EXPECT_TRUE(p.lines.empty()) << s;
  }
  EXPECT_TRUE(parse({{V::kMallocType, ""}}).lines.empty());
}

TEST(Config, ZeroSizeNullIsOptIn) {
  EXPECT_FALSE(parse({}).cfg.zero_size_null);
  EXPECT_TRUE(parse({{V::kAixmallocZeroSize, "null"}}).cfg.zero_size_null);
  EXPECT_TRUE(parse({{V::kAixmallocZeroSize, " NULL "}}).cfg.zero_size_null);
  Parsed ptr = parse({{V::kAixmallocZeroSize, "pointer"}});
  EXPECT_FALSE(ptr.cfg.zero_size_null);
  EXPECT_TRUE(ptr.lines.empty());
  Parsed bad = parse({{V::kAixmallocZeroSize, "0"}});
  EXPECT_FALSE(bad.cfg.zero_size_null);
  ASSERT_EQ(bad.lines.size(), 1u);
  EXPECT_EQ(bad.lines[0], "AIXMALLOC_ZERO_SIZE: '0' is not 'null' or 'pointer'; malloc(0) returns a pointer");
}

TEST(Config, PsallocEarlyDisclaimsUnlessNodisclaim) {
  EXPECT_TRUE(parse({{V::kPsalloc, "early"}}).cfg.psalloc_early);
  EXPECT_TRUE(parse({{V::kPsalloc, "early"}, {V::kMallocType, "watson"}}).cfg.psalloc_early);
  EXPECT_TRUE(parse({{V::kPsalloc, "early"}, {V::kNodisclaim, "false"}}).cfg.psalloc_early);
  Parsed off = parse({{V::kPsalloc, "early"}, {V::kNodisclaim, "true"}});
  EXPECT_FALSE(off.cfg.psalloc_early);
  EXPECT_TRUE(off.lines.empty());
  EXPECT_FALSE(parse({{V::kPsalloc, "late"}}).cfg.psalloc_early);
  Parsed alone = parse({{V::kNodisclaim, "true"}});
  ASSERT_EQ(alone.lines.size(), 1u);
  EXPECT_EQ(alone.lines[0], "NODISCLAIM: 'true' has no effect without PSALLOC=early; ignored");
  Parsed three = parse({{V::kPsalloc, "early"}, {V::kMallocType, "3.1_64BIT"}});
  EXPECT_FALSE(three.cfg.psalloc_early);
  ASSERT_EQ(three.lines.size(), 1u);
  EXPECT_EQ(three.lines[0], "PSALLOC: 'early' does not apply to MALLOCTYPE=3.1_64BIT; ignored");
  Parsed bad = parse({{V::kPsalloc, "yes"}});
  ASSERT_EQ(bad.lines.size(), 1u);
  EXPECT_EQ(bad.lines[0], "PSALLOC: 'yes' is not 'early' or 'late'; free() gives no pages back");
}

TEST(Config, UnknownMallocTypeFallsBackToTheDefault) {
  Parsed p = parse({{V::kMallocType, "fastest"}});
  EXPECT_EQ(p.cfg.policy, Policy::kYorktown);
  ASSERT_EQ(p.lines.size(), 1u);
  EXPECT_EQ(p.lines[0], "MALLOCTYPE: unknown policy 'fastest'; using the default policy (Yorktown)");
}

TEST(Config, ThreeOneIsFor32BitProgramsOnly) {
  Parsed p = parse({{V::kMallocType, "3.1"}});
  EXPECT_EQ(p.cfg.policy, Policy::kYorktown);
  ASSERT_EQ(p.lines.size(), 1u);
  EXPECT_EQ(p.lines[0],
            "MALLOCTYPE: '3.1' applies to 32-bit programs only; using the default policy (Yorktown); "
            "set 3.1_64BIT for the 3.1 allocator");
}

TEST(Config, EveryPolicyNotInThisBuildIsNamed) {
  for (size_t i = 0; i < kPolicyCount; ++i) {
    if (kPolicies[i].built || static_cast<Policy>(i) == Policy::kV31) continue;
    Parsed p = parse({{V::kMallocType, kPolicies[i].spelling()}});
    EXPECT_EQ(p.cfg.policy, Policy::kYorktown);
    ASSERT_EQ(p.lines.size(), 1u);
    EXPECT_EQ(p.lines[0], std::string("MALLOCTYPE: policy '") + kPolicies[i].spelling() +
                              "' is not available in this build; using the default policy (Yorktown)");
  }
}

TEST(Config, LegacyMallocTypeValues) {
  // debug: the default policy with catch_overflow (config_debug_test.cpp has the rest).
  Parsed debug = parse({{V::kMallocType, "debug"}});
  EXPECT_TRUE(debug.lines.empty());
  EXPECT_EQ(debug.cfg.policy, Policy::kYorktown);
  EXPECT_TRUE(debug.cfg.enabled(O::kCatchOverflow));
  Parsed buckets = parse({{V::kMallocType, "buckets"}});
  EXPECT_EQ(buckets.cfg.option(O::kBuckets).origin, Origin::kLegacy);
}

TEST(Config, UserNamesTheReplacementAndRefusesEveryOption) {
  Parsed user = parse({{V::kMallocType, " USER:./libmine.so "}});
  EXPECT_TRUE(user.lines.empty());
  EXPECT_EQ(user.cfg.policy, Policy::kUser);
  EXPECT_STREQ(user.cfg.replacement, "./libmine.so");
  Parsed opts = parse({{V::kMallocType, "user:mine"}, {V::kMallocOptions, "pool,buckets"}, {V::kMallocDebug, "fill"}});
  EXPECT_EQ(opts.cfg.policy, Policy::kUser);
  EXPECT_FALSE(opts.cfg.enabled(O::kPool));
  EXPECT_FALSE(opts.cfg.enabled(O::kFill));
  ASSERT_EQ(opts.lines.size(), 3u);
  EXPECT_EQ(opts.lines[0], "MALLOCOPTIONS: 'pool' does not apply to MALLOCTYPE=user; ignored");
  EXPECT_EQ(opts.lines[2], "MALLOCDEBUG: 'fill' does not apply to MALLOCTYPE=user; ignored");
  Parsed empty = parse({{V::kMallocType, "user:"}});
  EXPECT_EQ(empty.cfg.policy, Policy::kYorktown);
  ASSERT_EQ(empty.lines.size(), 1u);
  EXPECT_EQ(empty.lines[0], "MALLOCTYPE: 'user:' names no library; using the default policy (Yorktown)");
}

TEST(Config, SetuidLoadsReplacementsFromSystemDirectoriesOnly) {
  for (const char* ok : {"user:mine", "user:/usr/lib/x86_64-linux-gnu/libmine.so", "user:/lib64/m.so"}) {
    Parsed p = parse({{V::kMallocType, ok}}, true);
    EXPECT_EQ(p.cfg.policy, Policy::kUser) << ok;
    EXPECT_TRUE(p.lines.empty()) << ok;
  }
  for (const char* bad :
       {"user:./mine.so", "user:/tmp/mine.so", "user:/usr/lib/../../tmp/m.so", "user:/usr/libx/m.so"}) {
    Parsed p = parse({{V::kMallocType, bad}}, true);
    EXPECT_EQ(p.cfg.policy, Policy::kYorktown) << bad;
    ASSERT_EQ(p.lines.size(), 1u) << bad;
    EXPECT_EQ(p.lines[0], std::string("MALLOCTYPE: '") + bad +
                              "' is refused in a set-uid or set-gid process (a bare name or a system "
                              "directory only); using the default policy (Yorktown)");
  }
}

TEST(Config, ProgramNamesItsReplacementWhenMallocTypeIsUnset) {
  RawVariables raw;
  ParseContext ctx;
  ctx.program_replacement = "libmine";
  Config c;
  parse_config(raw, ctx, &c);
  EXPECT_EQ(c.policy, Policy::kUser);
  EXPECT_STREQ(c.replacement, "libmine");
  raw[V::kMallocType] = "watson";
  parse_config(raw, ctx, &c);
  EXPECT_EQ(c.policy, Policy::kWatson);
}

TEST(Config, UnknownOptionsAreNamedAndIgnored) {
  Parsed p = parse({{V::kMallocOptions, "turbo, ,,speed:1"}});
  ASSERT_EQ(p.lines.size(), 2u);
  EXPECT_EQ(p.lines[0], "MALLOCOPTIONS: unknown option 'turbo'; ignored");
  EXPECT_EQ(p.lines[1], "MALLOCOPTIONS: unknown option 'speed:1'; ignored");
}

TEST(Config, OptionNamesAreCaseSensitiveAsDocumented) {
  Parsed p = parse({{V::kMallocOptions, "Disclaim"}});
  ASSERT_EQ(p.lines.size(), 1u);
  EXPECT_EQ(p.lines[0], "MALLOCOPTIONS: unknown option 'Disclaim'; ignored");
}

TEST(Config, MultiheapNumbers) {
  // Parsing is independent of what this build serves: the values are read, then the matrix and
  // availability decide; here we look at the values before that.
  auto heaps = [](const char* v) {
    Parsed p = parse({{V::kMallocOptions, v}});
    return std::make_pair(p.cfg.option(O::kMultiheap).number, p.lines);
  };
  EXPECT_EQ(heaps("multiheap").first, 32u);
  EXPECT_EQ(heaps("multiheap:4").first, 4u);
  EXPECT_EQ(heaps("multiheap:1").first, 1u);
  EXPECT_EQ(heaps("multiheap:0x10").first, 16u);
  EXPECT_EQ(heaps("multiheap:4,multiheap:7").first, 7u);  // the last one wins
  auto zero = heaps("multiheap:0");
  EXPECT_EQ(zero.first, 32u);
  EXPECT_EQ(zero.second[0], "MALLOCOPTIONS: multiheap: 0 is outside 1..32; using 32");
  auto big = heaps("multiheap:33");
  EXPECT_EQ(big.second[0], "MALLOCOPTIONS: multiheap: 33 is outside 1..32; using 32");
  auto text = heaps("multiheap:abc");
  EXPECT_EQ(text.second[0], "MALLOCOPTIONS: multiheap: 'abc' is not a number; using 32");
  // A range error is not "not a number": a negative value, or one beyond 64 bits, is outside the
  // range, named with the range and the value used.
  auto neg = heaps("multiheap:-1");
  EXPECT_EQ(neg.first, 32u);
  EXPECT_EQ(neg.second[0], "MALLOCOPTIONS: multiheap: -1 is outside 1..32; using 32");
  auto huge = heaps("multiheap:99999999999999999999999");
  EXPECT_EQ(huge.first, 32u);
  EXPECT_EQ(huge.second[0],
            "MALLOCOPTIONS: multiheap: 99999999999999999999999 is outside 1..32; using 32");
  EXPECT_EQ(heaps("multiheap:0x1ffffffffffffffff").second[0],
            "MALLOCOPTIONS: multiheap: 0x1ffffffffffffffff is outside 1..32; using 32");
  EXPECT_EQ(heaps("multiheap:-0x10").second[0],
            "MALLOCOPTIONS: multiheap: -0x10 is outside 1..32; using 32");
  EXPECT_EQ(heaps("multiheap:-").second[0],
            "MALLOCOPTIONS: multiheap: '-' is not a number; using 32");
  EXPECT_EQ(heaps("multiheap:--1").second[0],
            "MALLOCOPTIONS: multiheap: '--1' is not a number; using 32");
}

TEST(Config, BucketSubOptionsValidated) {
  auto one = [](const char* v) { return parse({{V::kMallocBuckets, v}}); };
  EXPECT_EQ(one("number_of_buckets:8").cfg.value(O::kNumberOfBuckets), 8u);
  EXPECT_EQ(one("number_of_buckets:0").lines[0],
            "MALLOCBUCKETS: number_of_buckets: 0 is outside 1..128; using 16");
  EXPECT_EQ(one("number_of_buckets:129").lines[0],
            "MALLOCBUCKETS: number_of_buckets: 129 is outside 1..128; using 16");
  EXPECT_EQ(one("bucket_sizing_factor:40").lines[0],
            "MALLOCBUCKETS: bucket_sizing_factor: 40 is not a multiple of 16; using 64");
  EXPECT_EQ(one("blocks_per_bucket:0").lines[0],
            "MALLOCBUCKETS: blocks_per_bucket: 0 is outside 1..1048576; using 1024");
  EXPECT_EQ(one("blocks_per_bucket").lines[0],
            "MALLOCBUCKETS: blocks_per_bucket: needs a value (blocks_per_bucket:n); using 1024");
  EXPECT_EQ(one("multiheap").lines[0], "MALLOCBUCKETS: 'multiheap' is not a MALLOCBUCKETS option; ignored");
}

TEST(Config, MallocOptionsWinOverMallocBuckets) {
  Parsed p = parse({{V::kMallocBuckets, "number_of_buckets:8"},
                    {V::kMallocOptions, "number_of_buckets:12"}});
  EXPECT_EQ(p.cfg.value(O::kNumberOfBuckets), 12u);
  EXPECT_EQ(p.cfg.option(O::kNumberOfBuckets).source, V::kMallocOptions);
}

TEST(Config, LegacyMultiheapForms) {
  EXPECT_EQ(parse({{V::kMallocMultiheap, "1"}}).cfg.value(O::kMultiheap), 32u);
  Parsed p = parse({{V::kMallocMultiheap, "heaps:3,considersize"}});
  EXPECT_EQ(p.cfg.value(O::kMultiheap), 3u);
  EXPECT_EQ(p.cfg.option(O::kMultiheap).origin, Origin::kLegacy);
  EXPECT_EQ(p.cfg.option(O::kConsidersize).origin, Origin::kLegacy);
}

TEST(Config, LegacyDisclaim) {
  EXPECT_EQ(parse({{V::kMallocDisclaim, "true"}}).cfg.option(O::kDisclaim).origin, Origin::kLegacy);
  EXPECT_TRUE(parse({{V::kMallocDisclaim, "false"}}).lines.empty());
  Parsed p = parse({{V::kMallocDisclaim, "yes"}});
  ASSERT_EQ(p.lines.size(), 1u);
  EXPECT_EQ(p.lines[0], "MALLOCDISCLAIM: 'yes' is not 'true'; disclaim stays off");
}

TEST(Config, FlagsTakeNoValue) {
  Parsed p = parse({{V::kMallocOptions, "considersize:yes"}});
  EXPECT_EQ(p.lines[0], "MALLOCOPTIONS: considersize: takes no value; 'yes' ignored");
}

TEST(Config, OptionsNotInThisBuildOrNotForThePolicyAreDisabledWithALine) {
  for (size_t i = 0; i < kOptionCount; ++i) {
    const OptionSpec& o = kOptions[i];
    if (o.arg != kFlag && o.arg != kOptNumber && o.arg != kOff && o.arg != kWord) continue;
    V var = o.where & kInDebug ? V::kMallocDebug : V::kMallocOptions;
    Parsed p = parse({{var, o.name()}});
    if (o.built) {
      EXPECT_TRUE(p.cfg.options[i].on) << o.name();
      continue;
    }
    EXPECT_FALSE(p.cfg.options[i].on) << o.name();
    ASSERT_EQ(p.lines.size(), 1u) << o.name();
    EXPECT_EQ(p.lines[0],
              std::string(spec(var).name()) + ": '" + o.name() + "' is not available in this build; ignored");
  }
}

TEST(Config, StatisticsDestinations) {
  EXPECT_EQ(parse({{V::kAixmallocStats, "stderr"}}).cfg.stats.kind, Destination::kStderr);
  EXPECT_EQ(parse({{V::kAixmallocStats, "stdout"}}).cfg.stats.kind, Destination::kStdout);
  Parsed file = parse({{V::kAixmallocStats, "/tmp/report.txt"}});
  EXPECT_EQ(file.cfg.stats.kind, Destination::kPath);
  EXPECT_STREQ(file.cfg.stats.path, "/tmp/report.txt");
  Parsed secure = parse({{V::kAixmallocStats, "/tmp/report.txt"}}, /*secure=*/true);
  EXPECT_EQ(secure.cfg.stats.kind, Destination::kNone);
  ASSERT_EQ(secure.lines.size(), 1u);
  EXPECT_EQ(secure.lines[0],
            "AIXMALLOC_STATS: destination: file '/tmp/report.txt' refused in a set-uid or set-gid "
            "process; not written");
  std::string long_path(300, 'x');
  Parsed too_long = parse({{V::kAixmallocStats, long_path.c_str()}});
  EXPECT_EQ(too_long.cfg.stats.kind, Destination::kNone);
  EXPECT_NE(too_long.lines[0].find("is longer than 255 bytes; not written"), std::string::npos);
}

TEST(Config, BucketStatisticsFileRefusedInASetuidProcess) {
  Parsed p = parse({{V::kMallocOptions, "buckets,bucket_statistics:/tmp/b.txt"}}, /*secure=*/true);
  EXPECT_EQ(p.cfg.bucket_statistics.kind, Destination::kNone);
  ASSERT_EQ(p.lines.size(), 1u);
  EXPECT_EQ(p.lines[0],
            "MALLOCOPTIONS: bucket_statistics: file '/tmp/b.txt' refused in a set-uid or set-gid "
            "process; not written");
  EXPECT_EQ(parse({{V::kMallocOptions, "buckets,bucket_statistics:stderr"}}, true).cfg.bucket_statistics.kind,
            Destination::kStderr);
}

// AIX reads the bucket sub-options only with buckets: without it the summary is not written, and
// one line says so, whichever variable held it.
TEST(Config, BucketStatisticsWithoutBucketsIsNamed) {
  Parsed p = parse({{V::kMallocOptions, "bucket_statistics:stdout"}});
  EXPECT_EQ(p.cfg.bucket_statistics.kind, Destination::kNone);
  EXPECT_FALSE(p.cfg.enabled(O::kBucketStatistics));
  ASSERT_EQ(p.lines.size(), 1u);
  EXPECT_EQ(p.lines[0], "MALLOCOPTIONS: bucket_statistics: has no effect without buckets; "
                        "no summary is written");
  Parsed legacy = parse({{V::kMallocBuckets, "bucket_statistics:stderr"}});
  ASSERT_EQ(legacy.lines.size(), 1u);
  EXPECT_EQ(legacy.lines[0].rfind("MALLOCBUCKETS: bucket_statistics: has no effect", 0), 0u);
  // With buckets, or under a policy that refuses both (one line each, no third), nothing more.
  EXPECT_TRUE(parse({{V::kMallocOptions, "buckets,bucket_statistics:stdout"}}).lines.empty());
  Parsed watson =
      parse({{V::kMallocType, "watson"}, {V::kMallocOptions, "buckets,bucket_statistics:stdout"}});
  EXPECT_EQ(watson.lines.size(), 2u);
}

TEST(Config, BucketsApplyToTheDefaultPolicyOnly) {
  Parsed p = parse({{V::kMallocType, "watson"}, {V::kMallocOptions, "buckets"}});
  EXPECT_FALSE(p.cfg.enabled(O::kBuckets));
  ASSERT_EQ(p.lines.size(), 1u);
  EXPECT_EQ(p.lines[0], "MALLOCOPTIONS: 'buckets' does not apply to MALLOCTYPE=watson; ignored");
}

// watson2 tunes itself: AIX's scalability options are accepted and ignored with one line each;
// disclaim applies, and is on by default.
TEST(Config, Watson2IgnoresTheTuningOptions) {
  Parsed p = parse({{V::kMallocType, "watson2"},
                    {V::kMallocOptions, "multiheap:4,considersize,buckets,pool,threadcache"}});
  EXPECT_EQ(p.cfg.policy, Policy::kWatson2);
  for (O id : {O::kMultiheap, O::kConsidersize, O::kBuckets, O::kPool, O::kThreadcache})
    EXPECT_FALSE(p.cfg.enabled(id));
  ASSERT_EQ(p.lines.size(), 5u);
  EXPECT_EQ(p.lines[0], "MALLOCOPTIONS: 'multiheap' does not apply to MALLOCTYPE=watson2; ignored");
  EXPECT_EQ(p.lines[4], "MALLOCOPTIONS: 'threadcache' does not apply to MALLOCTYPE=watson2; ignored");
  EXPECT_TRUE(p.cfg.enabled(O::kDisclaim));
  Parsed d = parse({{V::kMallocType, "Watson2"}, {V::kMallocOptions, "disclaim"}});
  EXPECT_TRUE(d.lines.empty());
  EXPECT_TRUE(d.cfg.enabled(O::kDisclaim));
}

TEST(Config, HostileValuesAreQuotedSafelyAndBounded) {
  std::string huge(100000, 'z');
  Parsed p = parse({{V::kMallocType, huge.c_str()}});
  ASSERT_EQ(p.lines.size(), 1u);
  EXPECT_LT(p.lines[0].size(), Diagnostics::kLineLength);
  EXPECT_NE(p.lines[0].find("...' (100000 bytes)"), std::string::npos) << p.lines[0];
  Parsed bytes = parse({{V::kMallocOptions, "\xff\x01pool"}});
  EXPECT_EQ(bytes.lines[0], "MALLOCOPTIONS: unknown option '\\xff\\x01pool'; ignored");
  std::string many;
  for (int i = 0; i < 5000; ++i) many += "bad,";
  Parsed flood = parse({{V::kMallocOptions, many.c_str()}});
  EXPECT_EQ(flood.cfg.diagnostics.count, Diagnostics::kMaxLines);
  EXPECT_EQ(flood.cfg.diagnostics.total(), 5000u);
}

TEST(Config, ReadsOnlyExactVariableNames) {
  char a[] = "MALLOCTYPE=watson";
  char b[] = "MALLOCTYPEX=3.1";
  char c[] = "XMALLOCOPTIONS=pool";
  char d[] = "MALLOCOPTIONS=disclaim";
  char* env[] = {a, b, c, d, nullptr};
  RawVariables raw;
  read_variables(env, &raw);
  EXPECT_STREQ(raw[V::kMallocType], "watson");
  EXPECT_STREQ(raw[V::kMallocOptions], "disclaim");
  EXPECT_EQ(raw[V::kMallocBuckets], nullptr);
}

// Every variable of the table is read by its whole name, whatever it shares with others
// (AIXMALLOC_STATS and AIXMALLOC_STATS_JSON, MALLOCDEBUG and MALLOCDISCLAIM), among entries that
// begin with the same letters without being one, and entries that are empty or only "=".
TEST(Config, ReadsEveryVariableByItsWholeName) {
  std::vector<std::string> entries = {"", "=", "M", "MALLOC=1", "MALLOCTYP=watson", "PATH=/bin",
                                      "AIXMALLOC_STATSX=1", "NODISCLAIMED=true", "Pwd=/"};
  for (size_t i = 0; i < kVariableCount; ++i)
    entries.push_back(std::string(kVariables[i].name()) + "=value" + std::to_string(i));
  std::vector<char*> env;
  for (std::string& e : entries) env.push_back(e.data());
  env.push_back(nullptr);
  RawVariables raw;
  read_variables(env.data(), &raw);
  for (size_t i = 0; i < kVariableCount; ++i)
    EXPECT_STREQ(raw.value[i], ("value" + std::to_string(i)).c_str()) << kVariables[i].name();

  // Without the variables themselves, none is read from the entries that only look like them.
  env.erase(env.begin() + 9, env.end() - 1);
  read_variables(env.data(), &raw);
  for (size_t i = 0; i < kVariableCount; ++i) EXPECT_EQ(raw.value[i], nullptr) << kVariables[i].name();
}

TEST(Config, StatsSignalNamesAndNumbers) {
  int rtmin = SIGRTMIN, rtmax = SIGRTMAX;
  struct Case {
    const char* text;
    int sig;
  };
  for (Case c : {Case{"USR1", SIGUSR1}, Case{"SIGUSR2", SIGUSR2}, Case{" usr2 ", SIGUSR2},
                 Case{"sigrtmin", rtmin}, Case{"RTMIN+3", rtmin + 3}, Case{"RTMAX", rtmax},
                 Case{"SIGRTMAX-1", rtmax - 1}, Case{"12", SIGUSR2}}) {
    Parsed p = parse({{V::kAixmallocStatsSignal, c.text}});
    EXPECT_EQ(p.cfg.stats_signal, c.sig) << c.text;
    EXPECT_TRUE(p.lines.empty()) << c.text;
  }
  std::string rt = std::to_string(rtmin + 1);
  EXPECT_EQ(parse({{V::kAixmallocStatsSignal, rt.c_str()}}).cfg.stats_signal, rtmin + 1);
  // Unset: the runtime picks a free signal itself; off: no channel at all.
  EXPECT_EQ(parse({}).cfg.stats_signal, 0);
  EXPECT_EQ(parse({{V::kAixmallocStatsSignal, ""}}).cfg.stats_signal, 0);
  for (const char* off : {"off", "OFF", " Off "}) {
    Parsed p = parse({{V::kAixmallocStatsSignal, off}});
    EXPECT_EQ(p.cfg.stats_signal, kStatsSignalOff) << off;
    EXPECT_TRUE(p.lines.empty()) << off;
  }
}

// Signals the program or the kernel needs for something else are refused, with one line each; the
// runtime then picks a signal as when the variable is unset.
TEST(Config, StatsSignalRefusesOtherSignals) {
  std::string range = "(n 0-" + std::to_string(SIGRTMAX - SIGRTMIN) +
                      "); aixmalloc picks a free real-time signal";
  for (const char* bad : {"SEGV", "SIGKILL", "9", "INT", "0", "RTMIN-1", "RTMAX+1", "RTMIN+999",
                          "USR3", "SIG", "rtmin+", "18446744073709551617", "offf", "no"}) {
    Parsed p = parse({{V::kAixmallocStatsSignal, bad}});
    EXPECT_EQ(p.cfg.stats_signal, 0) << bad;
    ASSERT_EQ(p.lines.size(), 1u) << bad;
    EXPECT_EQ(p.lines[0], std::string("AIXMALLOC_STATS_SIGNAL: '") + bad +
                              "' is not USR1, USR2, RTMIN+n, RTMAX-n or off " + range)
        << bad;
  }
  Parsed p = parse({{V::kAixmallocStatsSignal, "USR2"}}, /*secure=*/true);
  EXPECT_EQ(p.cfg.stats_signal, 0);
  ASSERT_EQ(p.lines.size(), 1u);
  EXPECT_EQ(p.lines[0],
            "AIXMALLOC_STATS_SIGNAL: 'USR2' refused in a set-uid or set-gid process; live statistics are off");
}

}  // namespace
}  // namespace aixmalloc
