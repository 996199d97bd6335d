// Functions for the hand-written leak reports of leaks_test.sh to point into: the test reads their
// addresses with nm and expects `aixmalloc leaks` to name them (a C++ name, file and line) from
// this file, built with -g. Run, it leaks one block per function.
#include <stdlib.h>

namespace demo {

__attribute__((noinline)) void* leak_site(int n) {
  return malloc(static_cast<size_t>(n) * 100);
}

}  // namespace demo

extern "C" __attribute__((noinline)) void* leak_plain(void) {
  return malloc(50);
}

int main() {
  volatile void* a = demo::leak_site(1);
  volatile void* b = leak_plain();
  (void)a;
  (void)b;
  return 0;
}
