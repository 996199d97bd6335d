// Text's formatting (format.h), byte by byte into the caller's buffer: a full buffer keeps what
// fits and marks itself truncated, so a report is cut short, never overrun.
#include "libmalloc/base/format.h"

#include "libmalloc/base/os.h"

namespace aixmalloc {

Text& Text::str(const char* s) {
  while (*s) ch(*s++);
  return *this;
}

Text& Text::str(const char* s, size_t n) {
  for (size_t i = 0; i < n; ++i) ch(s[i]);
  return *this;
}

Text& Text::ch(char c) {
  if (len_ + 1 < cap_) {
    buf_[len_++] = c;
  } else {
    truncated_ = true;
  }
  return *this;
}

Text& Text::num(uint64_t v) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) ch(digits[--n]);
  return *this;
}

Text& Text::num(uint64_t v, unsigned width) {
  unsigned digits = 1;
  for (uint64_t x = v; x >= 10; x /= 10) ++digits;
  for (unsigned i = digits; i < width; ++i) ch(' ');
  return num(v);
}

Text& Text::hex(uint64_t v) {
  static const char kDigits[] = "0123456789abcdef";
  str("0x");
  int shift = 60;
  while (shift > 0 && ((v >> shift) & 15) == 0) shift -= 4;
  for (; shift >= 0; shift -= 4) ch(kDigits[(v >> shift) & 15]);
  return *this;
}

Text& Text::quoted(const char* s, size_t n, size_t max_shown) {
  ch('\'');
  size_t shown = n < max_shown ? n : max_shown;
  for (size_t i = 0; i < shown; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      ch(static_cast<char>(c));
    } else {
      static const char kDigits[] = "0123456789abcdef";
      str("\\x").ch(kDigits[c >> 4]).ch(kDigits[c & 15]);
    }
  }
  if (shown < n) str("...");
  ch('\'');
  if (shown < n) str(" (").num(n).str(" bytes)");
  return *this;
}

Text& Text::pad_to(size_t column, char fill) {
  size_t line_start = len_;
  while (line_start > 0 && buf_[line_start - 1] != '\n') --line_start;
  while (len_ - line_start < column && !truncated_) ch(fill);
  return *this;
}

const char* Text::c_str() {
  buf_[len_ < cap_ ? len_ : cap_ - 1] = '\0';
  return buf_;
}

void Text::flush(int fd) {
  os::write_all(fd, buf_, len_);
  clear();
}

}  // namespace aixmalloc
