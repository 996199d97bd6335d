#!/usr/bin/env bash
# g++ under MALLOCDEBUG=catch_overflow (cc1plus, as and ld inherit the preload): a C++ file compiled
# with -O2 gives the same disassembly as without aixmalloc, and the program the same output.
source "$(dirname "$0")/common.sh"
source "$here/catch_overflow_common.sh"
catch_overflow_on
cat > "$work/prog.cpp" <<'CPP'
#include <algorithm>
#include <iostream>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>
template <class T> T total(const std::vector<T>& v) { return std::accumulate(v.begin(), v.end(), T{}); }
int main() {
  std::map<std::string, std::vector<long>> m;
  for (long i = 0; i < 20000; ++i) m[std::to_string(i % 997)].push_back(i * i % 10007);
  std::vector<std::pair<long, std::string>> ranked;
  for (auto& [k, v] : m) ranked.emplace_back(total(v), k);
  std::sort(ranked.begin(), ranked.end());
  std::ostringstream os;
  for (size_t i = 0; i < 5; ++i) os << ranked[i].second << ":" << ranked[i].first << " ";
  std::cout << m.size() << " " << os.str() << "\n";
}
CPP
mkdir "$work/plain" "$work/guarded"
(cd "$work/plain" && plain g++ -std=c++17 -O2 -c ../prog.cpp -o prog.o && plain g++ prog.o -o prog)
(cd "$work/guarded" && preloaded g++ -std=c++17 -O2 -c ../prog.cpp -o prog.o && preloaded g++ prog.o -o prog)
no_diagnostics
(cd "$work/plain" && objdump -d -r prog.o) > "$work/plain.dis"
(cd "$work/guarded" && objdump -d -r prog.o) > "$work/guarded.dis"
[ "$(grep -c . "$work/plain.dis")" -gt 100 ] || fail "objdump printed too little"
cmp -s "$work/plain.dis" "$work/guarded.dis" || {
  diff -u "$work/plain.dis" "$work/guarded.dis" | head -30 || true
  fail "g++ -O2 under catch_overflow: another disassembly"
}
expected=$("$work/plain/prog")
[ "$(preloaded "$work/guarded/prog")" = "$expected" ] || fail "the program's output under catch_overflow"
no_diagnostics
echo "g++ -O2 under catch_overflow: the same disassembly and output ($(elapsed))"
