// Prints the one option table, one entry per line ("variable NAME", "policy SPELLING built|absent",
// "option NAME debug|options": a MALLOCDEBUG option, or one of the other variables'), for the
// tests that hold `aixmalloc help`, `aixmalloc check` and aixmalloc(7) against it.
#include <cstdio>

#include "libmalloc/base/config.h"

int main() {
  using namespace aixmalloc;
  for (const VariableSpec& v : kVariables) std::printf("variable %s\n", v.name());
  for (const PolicySpec& p : kPolicies)
    std::printf("policy %s %s\n", p.spelling(), p.built ? "built" : "absent");
  for (const OptionSpec& o : kOptions) std::printf("option %s %s\n", o.name(), o.where & kInDebug ? "debug" : "options");
  return 0;
}
