// The symbolizer (libmalloc/symbolize.h): a return address named by module, build id, function,
// file and line, in this process (name) and from a module file (name_in_file, as the CLI does).
// Compiled with -g -O0 so that the call sites below keep their own lines.
#include "libmalloc/symbolize.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace aixmalloc::rt {

// The return address into its caller: what the Malloc Log records of malloc's caller.
__attribute__((noinline)) uintptr_t return_address() {
  return reinterpret_cast<uintptr_t>(__builtin_return_address(0));
}

int g_call_line = 0;
__attribute__((noinline)) uintptr_t symbolize_test_caller() {
  g_call_line = __LINE__ + 1;
  uintptr_t pc = return_address();
  return pc;
}

std::string hex(const unsigned char* bytes, size_t n) {
  std::string s;
  char b[3];
  for (size_t i = 0; i < n; ++i) {
    snprintf(b, sizeof(b), "%02x", bytes[i]);
    s += b;
  }
  return s;
}

std::string self_path() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

TEST(Symbolize, LoadsLibdw) {
  Symbolizer s;
  // libdw.so.1 is a test dependency (tools/setup installs elfutils); without it only dladdr names.
  EXPECT_TRUE(s.has_debug_library());
}

TEST(Symbolize, NamesAFunctionOfThisTestWithFileAndLine) {
  const uintptr_t pc = symbolize_test_caller();
  Symbolizer s;
  FrameName f;
  ASSERT_TRUE(s.name(pc, &f));
  EXPECT_STREQ(f.function, "aixmalloc::rt::symbolize_test_caller()");  // demangled
  EXPECT_TRUE(ends_with(f.file, "tests/unit/symbolize_test.cpp")) << f.file;
  EXPECT_EQ(f.line, static_cast<unsigned>(g_call_line));
  EXPECT_STREQ(f.module.path, "");  // the main program, as the loader names it
  EXPECT_EQ(f.offset, pc - f.module.base);
  EXPECT_GT(f.function_offset, 0u);
  EXPECT_LT(f.function_offset, 256u);
}

TEST(Symbolize, NamesALibcFunction) {
  // libc's own qsort, not an interposer's (AddressSanitizer's runtime defines one ahead of it).
  void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(libc, nullptr);
  void* libc_qsort = dlsym(libc, "qsort");
  dlclose(libc);
  ASSERT_NE(libc_qsort, nullptr);
  const uintptr_t pc = reinterpret_cast<uintptr_t>(libc_qsort) + 1;  // looked up at pc - 1
  Symbolizer s;
  FrameName f;
  ASSERT_TRUE(s.name(pc, &f));
  EXPECT_NE(std::string(f.module.path).find("libc.so"), std::string::npos) << f.module.path;
  EXPECT_STREQ(f.function, "qsort");
  EXPECT_EQ(f.function_offset, 1u);
}

TEST(Symbolize, BuildIdMatchesReadelf) {
  Symbolizer s;
  FrameName f;
  ASSERT_TRUE(s.name(symbolize_test_caller(), &f));
  ASSERT_GT(f.module.build_id_size, 0u) << "the test is linked with a build id (GCC's default on Debian)";
  const std::string cmd = "readelf -n '" + self_path() + "'";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char line[512];
  while (fgets(line, sizeof(line), p)) out += line;
  pclose(p);
  EXPECT_NE(out.find("Build ID: " + hex(f.module.build_id, f.module.build_id_size) + "\n"), std::string::npos)
      << out;
}

TEST(Symbolize, AnAddressInNoModuleIsFalse) {
  Symbolizer s;
  FrameName f;
  EXPECT_FALSE(s.name(0, &f));
  EXPECT_FALSE(s.name(0x10, &f));
  void* anon = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(anon, MAP_FAILED);
  EXPECT_FALSE(s.name(reinterpret_cast<uintptr_t>(anon) + 16, &f));
  munmap(anon, 4096);
}

TEST(Symbolize, NamesTheSameFrameFromTheModuleFile) {
  const uintptr_t pc = symbolize_test_caller();
  Symbolizer s;
  FrameName live, offline;
  ASSERT_TRUE(s.name(pc, &live));
  const std::string path = self_path();
  ASSERT_TRUE(s.name_in_file(path.c_str(), live.offset, &offline));
  EXPECT_STREQ(offline.function, live.function);
  EXPECT_STREQ(offline.file, live.file);
  EXPECT_EQ(offline.line, live.line);
  EXPECT_EQ(hex(offline.module.build_id, offline.module.build_id_size),
            hex(live.module.build_id, live.module.build_id_size));
  FrameName missing;
  EXPECT_FALSE(s.name_in_file("/nonexistent/module.so", 0x1234, &missing));
}

}  // namespace aixmalloc::rt
