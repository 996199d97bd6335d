// The allocator's text formatting (libmalloc/base/format.h): numbers, hexadecimal, quoted values,
// padding, and what happens at the end of the buffer, where every report must stop cleanly.
#include "libmalloc/base/format.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace aixmalloc {
namespace {

std::string text(Text& t) { return std::string(t.data(), t.size()); }

TEST(Format, Numbers) {
  TextBuf<128> t;
  t.num(0).ch(' ').num(7).ch(' ').num(1234567890).ch(' ').num(UINT64_MAX);
  EXPECT_EQ(text(t), "0 7 1234567890 18446744073709551615");
  t.clear();
  t.num(42, 6).ch('|').num(123456, 3).ch('|').num(0, 2);
  EXPECT_EQ(text(t), "    42|123456| 0");  // right-aligned; a wider number is never cut
}

TEST(Format, Hexadecimal) {
  TextBuf<128> t;
  t.hex(0).ch(' ').hex(0xab).ch(' ').hex(0x1000).ch(' ').hex(UINT64_MAX);
  EXPECT_EQ(text(t), "0x0 0xab 0x1000 0xffffffffffffffff");
  t.clear();
  t.ptr(reinterpret_cast<const void*>(uintptr_t{0x7f0012345670}));
  EXPECT_EQ(text(t), "0x7f0012345670");
}

TEST(Format, Strings) {
  TextBuf<64> t;
  t.str("abc").str("defgh", 2).ch('!');
  EXPECT_EQ(text(t), "abcde!");
  EXPECT_STREQ(t.c_str(), "abcde!");
  EXPECT_EQ(t.size(), 6u);  // c_str() adds no character
}

TEST(Format, QuotedValuesAreEscapedAndCut) {
  TextBuf<256> t;
  t.quoted("pool", 4);
  EXPECT_EQ(text(t), "'pool'");
  t.clear();
  const char odd[] = {'a', '\n', '\'', '\\', '\x7f', static_cast<char>(0xe9)};
  t.quoted(odd, sizeof odd);
  EXPECT_EQ(text(t), "'a\\x0a\\x27\\x5c\\x7f\\xe9'");
  t.clear();
  std::string longer(100, 'x');
  t.quoted(longer.data(), longer.size(), 8);
  EXPECT_EQ(text(t), "'xxxxxxxx...' (100 bytes)");
}

TEST(Format, PadToColumnOfTheCurrentLine) {
  TextBuf<128> t;
  t.str("first line\n").str("ab").pad_to(6, '.').str("c");
  EXPECT_EQ(text(t), "first line\nab....c");
  t.pad_to(3);  // already past the column: nothing
  EXPECT_EQ(text(t), "first line\nab....c");
}

// A full buffer keeps what fits (one byte stays for c_str's NUL), says it was cut, and takes
// nothing more; clear() starts over.
TEST(Format, TruncatesAtCapacity) {
  TextBuf<8> t;
  t.str("1234").num(5678).str("9");
  EXPECT_TRUE(t.truncated());
  EXPECT_EQ(text(t), "1234567");
  EXPECT_STREQ(t.c_str(), "1234567");
  t.hex(0xff).pad_to(40);  // padding stops at a full buffer, never loops
  EXPECT_EQ(text(t), "1234567");
  t.clear();
  EXPECT_FALSE(t.truncated());
  EXPECT_EQ(t.size(), 0u);
  t.str("ok");
  EXPECT_EQ(text(t), "ok");
}

TEST(Format, TextOverACallersBuffer) {
  char buf[16];
  Text t(buf, sizeof buf);
  t.str("in ").num(3).str(" parts");
  EXPECT_EQ(text(t), "in 3 parts");
  EXPECT_EQ(t.data(), buf);
}

// flush() writes everything with write(2) and empties the buffer.
TEST(Format, FlushWritesAndClears) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  TextBuf<64> t;
  t.str("report line ").num(1).ch('\n');
  t.flush(fds[1]);
  EXPECT_EQ(t.size(), 0u);
  t.str("second\n");
  t.flush(fds[1]);
  close(fds[1]);
  char got[64] = {};
  ssize_t n = 0, r;
  while ((r = read(fds[0], got + n, sizeof got - 1 - static_cast<size_t>(n))) > 0) n += r;
  close(fds[0]);
  EXPECT_STREQ(got, "report line 1\nsecond\n");
}

}  // namespace
}  // namespace aixmalloc
