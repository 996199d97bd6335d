// Prints the one option table, one entry per line ("variable NAME", "policy SPELLING built|absent",
// "option NAME"), for the tests that hold `aixmalloc help` and aixmalloc(7) against it.
#include <cstdio>

#include "libmalloc/base/config.h"

int main() {
  using namespace aixmalloc;
  for (const VariableSpec& v : kVariables) std::printf("variable %s\n", v.name);
  for (const PolicySpec& p : kPolicies)
    std::printf("policy %s %s\n", p.spelling, p.built ? "built" : "absent");
  for (const OptionSpec& o : kOptions) std::printf("option %s\n", o.name);
  return 0;
}
