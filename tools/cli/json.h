// A small JSON reader (for AIXMALLOC_STATS_JSON documents) and writer (for `stats --json`). The
// reader keeps unsigned integers exact, members in document order, and refuses nesting deeper than
// kMaxDepth, so a hostile file costs nothing but an error message.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aixmalloc::cli {

struct JsonValue {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  bool boolean = false;
  double number = 0;
  std::optional<uint64_t> integer;  // set when the number is a non-negative integer that fits
  std::string text;
  std::vector<JsonValue> items;   // array elements, or object values
  std::vector<std::string> keys;  // object keys, parallel to items

  const JsonValue* find(std::string_view key) const;  // nullptr when absent or not an object
  std::optional<uint64_t> u64(std::string_view key) const;
  std::string str(std::string_view key) const;  // "" when absent or not a string
};

inline constexpr int kMaxDepth = 64;

// Parses one value at the start of `text` (blanks before it skipped). On success *end is the
// offset just past it; on failure *error says what and where.
std::optional<JsonValue> parse_json(std::string_view text, size_t* end, std::string* error);

// Writes indented JSON to a string: open/close objects and arrays, keyed or not.
class JsonWriter {
 public:
  JsonWriter& begin_object(const char* key = nullptr) { return open(key, '{'); }
  JsonWriter& begin_array(const char* key = nullptr) { return open(key, '['); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& end_array() { return close(']'); }
  JsonWriter& number(const char* key, uint64_t v);
  JsonWriter& real(const char* key, double v);
  JsonWriter& string(const char* key, std::string_view v);
  JsonWriter& boolean(const char* key, bool v);
  // A value already in JSON form (a number or true/false copied from a document).
  JsonWriter& raw(const char* key, std::string_view json);
  const std::string& text() const { return out_; }

 private:
  JsonWriter& open(const char* key, char brace);
  JsonWriter& close(char brace);
  void item(const char* key);
  void newline();
  std::string out_;
  int depth_ = 0;
  bool first_ = true;
};

std::string json_quote(std::string_view s);
// `s` with every byte that is not part of well-formed UTF-8 replaced by U+FFFD.
std::string utf8_sanitized(std::string_view s);

}  // namespace aixmalloc::cli
