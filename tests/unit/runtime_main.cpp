// main() of the runtime test: applies the configuration under test, then runs GoogleTest.
//
// ctest gives the configuration as one variable, AIXMALLOC_TEST_ENV="VAR=VALUE VAR=VALUE" (a CMake
// list of variables does not survive gtest_discover_tests). The allocator reads its variables at
// the first malloc, before main, so the process sets them and executes itself again.
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

int main(int argc, char** argv) {
  const char* wanted = getenv("AIXMALLOC_TEST_ENV");
  if (wanted && *wanted && !getenv("AIXMALLOC_TEST_ENV_APPLIED")) {
    std::string all(wanted);
    size_t start = 0;
    while (start < all.size()) {
      size_t end = all.find(' ', start);
      if (end == std::string::npos) end = all.size();
      std::string item = all.substr(start, end - start);
      size_t eq = item.find('=');
      if (eq != std::string::npos) setenv(item.substr(0, eq).c_str(), item.substr(eq + 1).c_str(), 1);
      start = end + 1;
    }
    setenv("AIXMALLOC_TEST_ENV_APPLIED", "1", 1);
    execv("/proc/self/exe", argv);
    return 127;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
