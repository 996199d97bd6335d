// A fixed buffer that formats text without malloc or stdio: every report and diagnostic of the
// allocator is built in one of these on the stack and written with write(2).
#pragma once

#include <cstddef>
#include <cstdint>

namespace aixmalloc {

class Text {
 public:
  Text(char* buf, size_t cap) : buf_(buf), cap_(cap) {}

  Text& str(const char* s);
  Text& str(const char* s, size_t n);
  Text& ch(char c);
  Text& num(uint64_t v);
  // Right-aligned in `width` columns (AIX's report tables).
  Text& num(uint64_t v, unsigned width);
  Text& hex(uint64_t v);  // 0x-prefixed
  Text& ptr(const void* p) { return hex(reinterpret_cast<uintptr_t>(p)); }
  // A value quoted for a diagnostic: non-printable bytes escaped, long values cut with "...".
  Text& quoted(const char* s, size_t n, size_t max_shown = 64);
  Text& pad_to(size_t column, char fill = ' ');

  const char* data() const { return buf_; }
  size_t size() const { return len_; }
  bool truncated() const { return truncated_; }
  void clear() { len_ = 0; truncated_ = false; }
  // NUL-terminates in place (the last byte is reserved for it) and returns the C string.
  const char* c_str();
  // Writes the text to fd and clears it.
  void flush(int fd);

 private:
  char* buf_;
  size_t cap_;
  size_t len_ = 0;
  bool truncated_ = false;
};

// A Text with its own storage.
template <size_t N>
class TextBuf : public Text {
 public:
  TextBuf() : Text(storage_, N) {}

 private:
  char storage_[N];
};

}  // namespace aixmalloc
