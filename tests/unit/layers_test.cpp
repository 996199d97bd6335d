// The layer rule of DESIGN.md, read from the sources themselves: the folders are layers and every
// #include runs downward; every system call goes through base's OS interface; files stay small and
// open with a comment on their role. Each failure names the file and line that breaks the rule.
//
//   libmalloc/ (the assembly and the entry points)   may include anything below, never tools/ or tests/
//     options/     libmalloc/base/, options/, and policies/policy.h
//     policies/    libmalloc/base/, policies/
//       libmalloc/base/   libmalloc/base/ only
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

const fs::path kTop = AIXMALLOC_SOURCE_DIR;

// Headers the build generates (in build/generated), included by their bare name.
const std::vector<std::string> kGenerated = {"aixmalloc_version.h"};

// The system calls (and their libc wrappers) only libmalloc/base/os.cpp may make.
const char* const kSystemCalls[] = {
    "mmap", "munmap", "madvise", "mprotect", "mremap", "syscall", "futex", "sigaction", "signal",
    "open", "openat", "creat", "close", "rename", "renameat", "unlink", "unlinkat", "stat", "lstat",
    "fstat", "access", "read", "write", "clock_gettime", "gettimeofday", "nanosleep", "getpid",
    "gettid", "sched_yield", "kill", "getrlimit", "getauxval", "sysconf", "fcntl", "flock",
    "dup", "dup2", "dup3", "ftruncate"};
// The headers that declare them: a file that needs one of these calls the system itself.
// (<signal.h> is not among them: its constants name the signals of AIXMALLOC_STATS_SIGNAL.)
const char* const kSystemHeaders[] = {"sys/mman.h", "sys/syscall.h", "linux/futex.h", "fcntl.h",
                                      "sys/stat.h", "sched.h",       "time.h",        "ctime",
                                      "sys/auxv.h", "sys/resource.h", "sys/file.h"};

struct Source {
  std::string name;                // from the top of the repository: "libmalloc/base/os.h"
  std::vector<std::string> lines;  // as written
};

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool has_suffix(const std::string& s, const char* suffix) {
  std::string x(suffix);
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// Every C++ source, header and table under the given folders (recursively).
std::vector<Source> sources_under(std::initializer_list<const char*> folders) {
  std::vector<Source> out;
  for (const char* folder : folders) {
    for (const auto& entry : fs::recursive_directory_iterator(kTop / folder)) {
      if (!entry.is_regular_file()) continue;
      std::string name = fs::relative(entry.path(), kTop).generic_string();
      if (!has_suffix(name, ".h") && !has_suffix(name, ".cpp") && !has_suffix(name, ".def")) continue;
      std::ifstream in(entry.path());
      std::stringstream text;
      text << in.rdbuf();
      out.push_back({name, split_lines(text.str())});
    }
  }
  std::sort(out.begin(), out.end(), [](const Source& a, const Source& b) { return a.name < b.name; });
  return out;
}

// --- the include rule ---------------------------------------------------------------------------

// Why `from` may not include `target`, or "" when it may.
std::string include_violation(const std::string& from, const std::string& target) {
  if (starts_with(target, "tools/") || starts_with(target, "tests/"))
    return "the allocator includes nothing of tools/ or tests/";
  if (starts_with(from, "libmalloc/base/")) {
    if (!starts_with(target, "libmalloc/base/")) return "libmalloc/base/ includes only libmalloc/base/";
  } else if (starts_with(from, "policies/")) {
    if (!starts_with(target, "libmalloc/base/") && !starts_with(target, "policies/"))
      return "policies/ includes only libmalloc/base/ and policies/";
  } else if (starts_with(from, "options/")) {
    if (!starts_with(target, "libmalloc/base/") && !starts_with(target, "options/") &&
        target != "policies/policy.h")
      return "options/ includes only libmalloc/base/, options/ and policies/policy.h";
  }
  return "";
}

// The project files a source includes: quoted includes, and angle includes of our own folders.
struct Include {
  size_t line;
  std::string target;
};

std::vector<Include> includes_of(const Source& s) {
  static const std::regex kInclude(R"(^\s*#\s*include\s*([<"])([^">]+)[">])");
  std::vector<Include> out;
  for (size_t i = 0; i < s.lines.size(); ++i) {
    std::smatch m;
    if (!std::regex_search(s.lines[i], m, kInclude)) continue;
    std::string target = m[2];
    bool ours = m[1] == "\"";
    for (const char* folder : {"libmalloc/", "options/", "policies/", "tools/", "tests/"})
      ours = ours || starts_with(target, folder);
    if (ours) out.push_back({i + 1, target});
  }
  return out;
}

// Every violation as "file:line: reason (#include ...)".
std::vector<std::string> include_violations(const std::vector<Source>& sources) {
  std::vector<std::string> out;
  for (const Source& s : sources) {
    for (const Include& inc : includes_of(s)) {
      std::string where = s.name + ":" + std::to_string(inc.line) + ": ";
      bool generated =
          std::find(kGenerated.begin(), kGenerated.end(), inc.target) != kGenerated.end();
      if (!generated && !fs::exists(kTop / inc.target)) {
        out.push_back(where + "include \"" + inc.target +
                      "\" by its path from the top of the repository");
        continue;
      }
      std::string why = include_violation(s.name, inc.target);
      if (!why.empty()) out.push_back(where + why + " (#include \"" + inc.target + "\")");
    }
  }
  return out;
}

// --- system calls -------------------------------------------------------------------------------

// The text with comments, string literals and character literals blanked out (newlines kept, so
// line numbers stay), so that a word in a comment or a message is not taken for a call.
std::string code_only(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& l : lines) text += l + "\n";
  enum { kCode, kLineComment, kBlockComment, kString, kChar } state = kCode;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i], next = i + 1 < text.size() ? text[i + 1] : '\0';
    switch (state) {
      case kCode:
        if (c == '/' && next == '/') state = kLineComment;
        else if (c == '/' && next == '*') state = kBlockComment;
        else if (c == '"') state = kString;
        else if (c == '\'' && !(i > 0 && isxdigit(static_cast<unsigned char>(text[i - 1]))))
          state = kChar;  // (not a digit separator: 1'000)
        continue;
      case kLineComment:
        if (c == '\n') state = kCode;
        break;
      case kBlockComment:
        if (c == '*' && next == '/') {
          text[i] = text[i + 1] = ' ';
          ++i;
          state = kCode;
          continue;
        }
        break;
      case kString:
      case kChar:
        if (c == '\\') {
          text[i] = ' ';
          if (next != '\n') text[++i] = ' ';
          continue;
        }
        if ((state == kString && c == '"') || (state == kChar && c == '\'')) {
          state = kCode;
          continue;
        }
        break;
    }
    if (c != '\n') text[i] = ' ';
  }
  return text;
}

// Direct calls of the system in `lines`, as "line: name". A call is the name followed by "(" that
// is not a member (x.open, p->close), not qualified by a namespace other than the global one
// (os::open), and not a declaration (a type or "&" before it: Json& open(...)).
std::vector<std::string> system_calls_in(const std::vector<std::string>& lines) {
  static const std::regex kWord(R"(([A-Za-z_][A-Za-z_0-9]*)\s*\()");
  static const std::vector<std::string> kStatementWords = {"return", "else", "do", "case", "co_return"};
  std::vector<std::string> out;
  std::vector<std::string> code = split_lines(code_only(lines));
  for (size_t n = 0; n < code.size(); ++n) {
    const std::string& line = code[n];
    for (auto it = std::sregex_iterator(line.begin(), line.end(), kWord); it != std::sregex_iterator();
         ++it) {
      std::string name = (*it)[1];
      if (std::find(std::begin(kSystemCalls), std::end(kSystemCalls), name) == std::end(kSystemCalls))
        continue;
      size_t at = static_cast<size_t>(it->position(1));
      std::string before = line.substr(0, at);
      while (!before.empty() && before.back() == ' ') before.pop_back();
      if (has_suffix(before, "::")) {
        std::string scope = before.substr(0, before.size() - 2);
        if (!scope.empty() && (isalnum(static_cast<unsigned char>(scope.back())) || scope.back() == '_'))
          continue;  // ns::name: a function of ours
      } else if (!before.empty() && (before.back() == '.' || has_suffix(before, "->"))) {
        continue;  // a member
      } else if (!before.empty() && (before.back() == '&' || before.back() == '*' ||
                                     isalnum(static_cast<unsigned char>(before.back())) ||
                                     before.back() == '_' || before.back() == '>')) {
        size_t w = before.size();
        while (w > 0 && (isalnum(static_cast<unsigned char>(before[w - 1])) || before[w - 1] == '_')) --w;
        std::string word = before.substr(w);
        bool statement = std::find(kStatementWords.begin(), kStatementWords.end(), word) !=
                         kStatementWords.end();
        if (!statement) continue;  // a declaration: `int open(`, `Json& open(`
      }
      out.push_back(std::to_string(n + 1) + ": " + name + "()");
    }
  }
  return out;
}

std::vector<std::string> system_call_violations(const std::vector<Source>& sources) {
  std::vector<std::string> out;
  for (const Source& s : sources) {
    if (s.name == "libmalloc/base/os.cpp") continue;
    for (const std::string& call : system_calls_in(s.lines))
      out.push_back(s.name + ":" + call + " called directly; go through libmalloc/base/os.h");
    static const std::regex kSystemInclude(R"(^\s*#\s*include\s*<([^>]+)>)");
    for (size_t i = 0; i < s.lines.size(); ++i) {
      std::smatch m;
      if (!std::regex_search(s.lines[i], m, kSystemInclude)) continue;
      if (std::find(std::begin(kSystemHeaders), std::end(kSystemHeaders), m[1].str()) !=
          std::end(kSystemHeaders))
        out.push_back(s.name + ":" + std::to_string(i + 1) + ": <" + m[1].str() +
                      "> declares system calls; only libmalloc/base/os.cpp includes it");
    }
  }
  return out;
}

// --- size and opening comment -------------------------------------------------------------------

constexpr size_t kMaxLines = 600;

// True when the file's first lines are a comment of at least two lines (// lines, or a /* */
// block over two lines or more).
bool opens_with_comment(const std::vector<std::string>& lines) {
  if (lines.size() < 2) return false;
  if (starts_with(lines[0], "//")) return starts_with(lines[1], "//");
  if (starts_with(lines[0], "/*")) return lines[0].find("*/") == std::string::npos;
  return false;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string all;
  for (const std::string& l : lines) all += "\n  " + l;
  return all;
}

// --- the rules over the repository ----------------------------------------------------------------

TEST(Layers, IncludesRunDownward) {
  std::vector<std::string> bad = include_violations(sources_under({"libmalloc", "options", "policies"}));
  EXPECT_TRUE(bad.empty()) << bad.size() << " includes break the layer rule:" << joined(bad);
}

TEST(Layers, OnlyTheOsInterfaceCallsTheSystem) {
  std::vector<std::string> bad =
      system_call_violations(sources_under({"libmalloc", "options", "policies"}));
  EXPECT_TRUE(bad.empty()) << bad.size() << " direct system calls:" << joined(bad);
}

TEST(Layers, FilesStaySmall) {
  std::vector<std::string> bad;
  for (const Source& s : sources_under({"libmalloc", "options", "policies"}))
    if (s.lines.size() > kMaxLines)
      bad.push_back(s.name + ":" + std::to_string(s.lines.size()) + ": more than " +
                    std::to_string(kMaxLines) + " lines: two concerns in one file?");
  EXPECT_TRUE(bad.empty()) << joined(bad);
}

TEST(Layers, EveryFileOpensWithItsRole) {
  std::vector<std::string> bad;
  for (const Source& s : sources_under({"libmalloc", "options", "policies", "tools/cli"})) {
    if (has_suffix(s.name, ".def")) continue;
    if (!opens_with_comment(s.lines))
      bad.push_back(s.name + ":1: opens without a comment of two lines or more on its role");
  }
  EXPECT_TRUE(bad.empty()) << joined(bad);
}

// --- the checks themselves catch what they should, and nothing else ---------------------------------

TEST(LayersSelfTest, UpwardIncludesAreFound) {
  struct Case {
    const char* from;
    const char* target;
    bool allowed;
  };
  const Case cases[] = {
      {"libmalloc/base/lock.h", "libmalloc/config.h", false},
      {"libmalloc/base/lock.h", "options/pool.h", false},
      {"policies/watson.h", "options/pool.h", false},
      {"policies/watson.h", "libmalloc/stats.h", false},
      {"options/pool.h", "policies/watson.h", false},
      {"options/pool.h", "libmalloc/runtime.h", false},
      {"libmalloc/runtime.cpp", "tools/cli/cli.h", false},
      {"policies/yorktown.cpp", "tests/unit/harness.h", false},
      {"options/pool.h", "policies/policy.h", true},
      {"options/pool.h", "libmalloc/base/lock.h", true},
      {"policies/watson.h", "policies/segments.h", true},
      {"libmalloc/runtime.cpp", "options/pool.h", true},
  };
  for (const Case& c : cases)
    EXPECT_EQ(include_violation(c.from, c.target).empty(), c.allowed) << c.from << " -> " << c.target;
  Source s{"libmalloc/base/x.h", {"// x", "// y", "#include \"libmalloc/base/os.h\"",
                                  "  #  include \"libmalloc/stats.h\"", "#include <atomic>"}};
  std::vector<std::string> bad = include_violations({s});
  ASSERT_EQ(bad.size(), 1u) << joined(bad);
  EXPECT_EQ(bad[0].rfind("libmalloc/base/x.h:4: ", 0), 0u) << bad[0];
}

TEST(LayersSelfTest, DirectCallsAreFoundAndLookalikesAreNot) {
  std::vector<std::string> calls = system_calls_in({
      "int fd = open(path, O_RDONLY);",              // 1: a call
      "  if (sigaction(sig, &sa, nullptr) != 0) {",  // 2: a call
      "  return ::close(fd);",                       // 3: a call, qualified by the global namespace
      "  unlink(tmp);  // a leftover",               // 4: a call
      "  j.open(nullptr, '{');",                     // member: no
      "  p->close('}');",                            // member: no
      "  Json& open(const char* key, char brace) {", // declaration: no
      "  os::open_for_writing(path, true, 0600);",   // ours: no
      "  os::yield();  // instead of sched_yield()", // comment: no
      "  warn(\"cannot open(2) it\");",               // string: no
      "  uint64_t n = 1'000'000; close(fd);",        // 11: a call after a digit separator
      "  /* mmap(",                                  // block comment: no
      "     munmap( */ madvise(p, n, 0);",           // 13: a call after the comment
  });
  std::vector<std::string> expected = {"1: open()", "2: sigaction()", "3: close()", "4: unlink()",
                                       "11: close()", "13: madvise()"};
  EXPECT_EQ(calls, expected) << joined(calls);
}

TEST(LayersSelfTest, OpeningComments) {
  EXPECT_TRUE(opens_with_comment({"// one", "// two", "#pragma once"}));
  EXPECT_TRUE(opens_with_comment({"/* one", " * two */"}));
  EXPECT_FALSE(opens_with_comment({"// only one", "#pragma once"}));
  EXPECT_FALSE(opens_with_comment({"/* only one */", "#pragma once"}));
  EXPECT_FALSE(opens_with_comment({"#include \"policies/watson.h\"", "// later"}));
}

}  // namespace
