// C++ leaks through new (malloc_log_test.sh): 4 x new Node (48 bytes) from make_node and one
// new int[100] from make_array. Built with -rdynamic so the report can name them.
#include <cstdio>

struct Node {
  char payload[48];
};

Node* volatile g_node;
int* volatile g_array;

__attribute__((noinline)) void make_node() { g_node = new Node; }
__attribute__((noinline)) void make_array() { g_array = new int[100]; }

volatile int g_rounds = 4;

int main() {
  int rounds = g_rounds;  // read at run time: the loop is not unrolled into four call sites
  for (int i = 0; i < rounds; ++i) make_node();
  make_array();
  delete new Node;  // not a leak
  std::printf("done\n");
  return 0;
}
