// JSON reading and writing for the aixmalloc command (see json.h). RFC 8259 syntax; \u escapes are
// decoded to UTF-8 (a lone surrogate becomes U+FFFD).
#include "tools/cli/json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

namespace aixmalloc::cli {

const JsonValue* JsonValue::find(std::string_view key) const {
  if (kind != kObject) return nullptr;
  for (size_t i = keys.size(); i-- > 0;)  // the last of a repeated key, as most readers do
    if (keys[i] == key) return &items[i];
  return nullptr;
}

std::optional<uint64_t> JsonValue::u64(std::string_view key) const {
  const JsonValue* v = find(key);
  return v && v->kind == kNumber ? v->integer : std::nullopt;
}

std::string JsonValue::str(std::string_view key) const {
  const JsonValue* v = find(key);
  return v && v->kind == kString ? v->text : std::string();
}

namespace {

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}

  bool value(JsonValue* out, int depth) {
    skip();
    if (depth > kMaxDepth) return fail("nesting deeper than 64 levels");
    if (at_end()) return fail("a value was expected");
    char c = s_[pos_];
    if (c == '{') return object(out, depth);
    if (c == '[') return array(out, depth);
    if (c == '"') {
      out->kind = JsonValue::kString;
      return string(&out->text);
    }
    if (c == '-' || (c >= '0' && c <= '9')) return number(out);
    if (word("true")) {
      out->kind = JsonValue::kBool;
      out->boolean = true;
      return true;
    }
    if (word("false")) {
      out->kind = JsonValue::kBool;
      return true;
    }
    if (word("null")) return true;
    return fail("unexpected character");
  }

  size_t pos() const { return pos_; }
  const std::string& error() const { return error_; }

 private:
  bool at_end() const { return pos_ >= s_.size(); }
  void skip() {
    while (!at_end() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool fail(const char* what) {
    if (error_.empty()) error_ = std::string(what) + " at offset " + std::to_string(pos_);
    return false;
  }
  bool word(std::string_view w) {
    if (s_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }
  bool expect(char c) {
    skip();
    if (at_end() || s_[pos_] != c)
      return fail(c == ':' ? "':' expected" : "',' or a closing bracket expected");
    ++pos_;
    return true;
  }

  bool object(JsonValue* out, int depth) {
    out->kind = JsonValue::kObject;
    ++pos_;
    skip();
    if (!at_end() && s_[pos_] == '}') return ++pos_, true;
    for (;;) {
      skip();
      if (at_end() || s_[pos_] != '"') return fail("a key was expected");
      std::string key;
      if (!string(&key) || !expect(':')) return false;
      JsonValue v;
      if (!value(&v, depth + 1)) return false;
      out->keys.push_back(std::move(key));
      out->items.push_back(std::move(v));
      skip();
      if (!at_end() && s_[pos_] == '}') return ++pos_, true;
      if (!expect(',')) return false;
    }
  }

  bool array(JsonValue* out, int depth) {
    out->kind = JsonValue::kArray;
    ++pos_;
    skip();
    if (!at_end() && s_[pos_] == ']') return ++pos_, true;
    for (;;) {
      JsonValue v;
      if (!value(&v, depth + 1)) return false;
      out->items.push_back(std::move(v));
      skip();
      if (!at_end() && s_[pos_] == ']') return ++pos_, true;
      if (!expect(',')) return false;
    }
  }

  static void utf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      *out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      *out += static_cast<char>(0xC0 | (cp >> 6));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      *out += static_cast<char>(0xE0 | (cp >> 12));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      *out += static_cast<char>(0xF0 | (cp >> 18));
      *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool hex4(uint32_t* out) {
    if (pos_ + 4 > s_.size()) return fail("short \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<uint32_t>(c - 'A' + 10);
      else
        return fail("bad \\u escape");
    }
    *out = v;
    return true;
  }

  bool string(std::string* out) {
    ++pos_;  // the opening quote
    for (;;) {
      if (at_end()) return fail("unterminated string");
      char c = s_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in a string");
      if (c != '\\') {
        *out += c;
        continue;
      }
      if (at_end()) return fail("unterminated string");
      char e = s_[pos_++];
      switch (e) {
        case '"':
          *out += '"';
          break;
        case '\\':
          *out += '\\';
          break;
        case '/':
          *out += '/';
          break;
        case 'b':
          *out += '\b';
          break;
        case 'f':
          *out += '\f';
          break;
        case 'n':
          *out += '\n';
          break;
        case 'r':
          *out += '\r';
          break;
        case 't':
          *out += '\t';
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(&cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00 && s_.substr(pos_, 2) == "\\u") {
            size_t save = pos_;
            pos_ += 2;
            uint32_t low = 0;
            if (hex4(&low) && low >= 0xDC00 && low < 0xE000) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            } else {
              pos_ = save;
              error_.clear();
              cp = 0xFFFD;
            }
          } else if (cp >= 0xD800 && cp < 0xE000) {
            cp = 0xFFFD;
          }
          utf8(cp, out);
          break;
        }
        default:
          return fail("bad escape in a string");
      }
    }
  }

  bool number(JsonValue* out) {
    size_t start = pos_;
    if (s_[pos_] == '-') ++pos_;
    auto digits = [&] {
      size_t from = pos_;
      while (!at_end() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ > from;
    };
    if (!digits()) return fail("bad number");
    bool integral = true;
    if (!at_end() && s_[pos_] == '.') {
      ++pos_;
      integral = false;
      if (!digits()) return fail("bad number");
    }
    if (!at_end() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      integral = false;
      if (!at_end() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (!digits()) return fail("bad number");
    }
    std::string text(s_.substr(start, pos_ - start));
    out->kind = JsonValue::kNumber;
    out->number = strtod(text.c_str(), nullptr);
    if (integral && text[0] != '-') {
      errno = 0;
      unsigned long long v = strtoull(text.c_str(), nullptr, 10);
      if (errno == 0) out->integer = v;
    }
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace

std::optional<JsonValue> parse_json(std::string_view text, size_t* end, std::string* error) {
  Reader r(text);
  JsonValue v;
  if (!r.value(&v, 0)) {
    if (error) *error = r.error();
    return std::nullopt;
  }
  if (end) *end = r.pos();
  return v;
}

namespace {

// The length of the well-formed UTF-8 sequence at s[i], or 0 when it is not one.
size_t utf8_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  unsigned char c1 = byte(i + 1);
  if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0) || (c == 0xF0 && c1 < 0x90) ||
      (c == 0xF4 && c1 >= 0x90))
    return 0;  // overlong, surrogate, or past U+10FFFF
  return n;
}

}  // namespace

std::string utf8_sanitized(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      out += s[i];
    } else if (size_t n = utf8_length(s, i)) {
      out.append(s.substr(i, n));
      i += n - 1;
    } else {
      out += "\xEF\xBF\xBD";
    }
  }
  return out;
}

// Always valid JSON text: bytes that are not UTF-8 (a file name, a corrupt report) become U+FFFD.
std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = utf8_length(s, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";
      } else {
        out.append(s.substr(i, n));
        i += n - 1;
      }
      continue;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

void JsonWriter::newline() {
  out_ += '\n';
  out_.append(static_cast<size_t>(depth_) * 2, ' ');
}

void JsonWriter::item(const char* key) {
  if (!first_) out_ += ',';
  if (depth_ > 0) newline();
  first_ = false;
  if (key) out_ += json_quote(key) + ": ";
}

JsonWriter& JsonWriter::open(const char* key, char brace) {
  item(key);
  out_ += brace;
  ++depth_;
  first_ = true;
  return *this;
}

JsonWriter& JsonWriter::close(char brace) {
  --depth_;
  if (!first_) newline();
  out_ += brace;
  first_ = false;
  if (depth_ == 0) out_ += '\n';
  return *this;
}

JsonWriter& JsonWriter::number(const char* key, uint64_t v) {
  item(key);
  out_ += std::to_string(v);
  return *this;
}

JsonWriter& JsonWriter::real(const char* key, double v) {
  item(key);
  char buf[40];
  snprintf(buf, sizeof(buf), isfinite(v) ? "%.6g" : "null", v);
  out_ += buf;
  return *this;
}

JsonWriter& JsonWriter::string(const char* key, std::string_view v) {
  item(key);
  out_ += json_quote(v);
  return *this;
}

JsonWriter& JsonWriter::boolean(const char* key, bool v) {
  item(key);
  out_ += v ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::raw(const char* key, std::string_view json) {
  item(key);
  out_ += json;
  return *this;
}

}  // namespace aixmalloc::cli
