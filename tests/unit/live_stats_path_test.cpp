// The live channel's names (libmalloc/base/live_stats_path.h): the advert the runtime writes reads
// back to what it said, from its name or from a /proc/PID/fd link, and nothing else reads as one
// (the CLI sends a signal on what it reads).
#include "libmalloc/base/live_stats_path.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace aixmalloc {
namespace {

bool parse(const std::string& text, LiveAdvert* out) {
  return parse_live_advert(text.data(), text.size(), out);
}

TEST(LiveStatsPath, AdvertReadsBackFromItsNameAndFromItsLink) {
  for (const LiveAdvert& a : {LiveAdvert{63, 0x5834e6645db411f4, 0}, LiveAdvert{12, 4, 0},
                              LiveAdvert{0, 0, 62}}) {
    TextBuf<96> name;
    live_advert_name(name, a);
    for (const std::string& text : {std::string(name.c_str()),
                                    "/memfd:" + std::string(name.c_str()) + " (deleted)"}) {
      LiveAdvert got{-1, 1, -1};
      ASSERT_TRUE(parse(text, &got)) << text;
      EXPECT_EQ(got.signal, a.signal) << text;
      EXPECT_EQ(got.cookie, a.cookie) << text;
      EXPECT_EQ(got.taken, a.taken) << text;
    }
  }
  TextBuf<96> name;
  EXPECT_STREQ(live_advert_name(name, LiveAdvert{63, 0x10, 0}), "aixmalloc-live sig=63 cookie=0x10");
  EXPECT_STREQ(live_advert_name(name, LiveAdvert{0, 0, 62}), "aixmalloc-live sig=0 taken=62");
}

TEST(LiveStatsPath, AnythingElseIsNoAdvert) {
  for (const char* text :
       {"", "aixmalloc-live", "aixmalloc-live ", "/memfd:other sig=63 cookie=0x10 (deleted)",
        "aixmalloc-live sig=63", "aixmalloc-live sig=63 cookie=0x11",  // the kind's bits set
        "aixmalloc-live sig=63 cookie=0x0", "aixmalloc-live sig=63 cookie=0x10 extra",
        "aixmalloc-live sig=63 cookie=0x10000000000000000", "aixmalloc-live sig=63 cookie=0xAB0",
        "aixmalloc-live sig=x cookie=0x10", "aixmalloc-live sig=2000 cookie=0x10",
        "aixmalloc-live sig=0 cookie=0x10", "aixmalloc-live sig=0", "aixmalloc-live sig=0 taken=",
        "aixmalloc-live sig=63 taken=62", "/dev/shm/aixmalloc-live sig=63 cookie=0x10",
        "aixmalloc-live  sig=63 cookie=0x10"}) {
    LiveAdvert got;
    EXPECT_FALSE(parse(text, &got)) << text;
  }
}

TEST(LiveStatsPath, DocumentNames) {
  TextBuf<96> out;
  EXPECT_STREQ(live_report_path(out, "/dev/shm", "leaks", 42), "/dev/shm/aixmalloc-leaks.42.json");
  EXPECT_STREQ(live_stats_temporary_path(out, "/tmp", 42, 7), "/tmp/.aixmalloc-stats.42.7.tmp");
}

}  // namespace
}  // namespace aixmalloc
