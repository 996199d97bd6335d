#!/usr/bin/env bash
# Ordinary programs under LD_PRELOAD, each compared with its run without aixmalloc: bash, git (init,
# commit, log, gc of a local repository), g++ compiling and running a real source file, cmake
# configuring a small project.
source "$(dirname "$0")/common.sh"

# bash: a script with arrays, strings and subshells
script='a=(); for i in $(seq 1 3000); do a+=("item$i"); done; s=""; for x in "${a[@]}"; do s+="${x:0:3}"; done; echo ${#a[@]} ${#s} $(echo "$s" | md5sum)'
expected=$(bash -c "$script")
got=$(preloaded bash -c "$script")
[ "$got" = "$expected" ] || fail "bash: '$got' != '$expected'"

# git: a repository with history, then log and gc
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.invalid GIT_COMMITTER_NAME=t \
  GIT_COMMITTER_EMAIL=t@example.invalid GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' \
  GIT_COMMITTER_DATE='2026-01-01T00:00:00Z'
repo="$work/repo"
preloaded git init -q "$repo"
for i in $(seq 1 30); do
  seq 1 $((i * 100)) > "$repo/file$((i % 7)).txt"
  preloaded git -C "$repo" add -A
  preloaded git -C "$repo" commit -qm "commit $i"
done
preloaded git -C "$repo" gc -q
log_pre=$(preloaded git -C "$repo" log --stat --format='%H %s')
log_plain=$(git -C "$repo" log --stat --format='%H %s')
[ "$log_pre" = "$log_plain" ] || fail "git log differs"
preloaded git clone -q "$repo" "$work/clone"
[ "$(git -C "$work/clone" rev-parse HEAD)" = "$(git -C "$repo" rev-parse HEAD)" ] || fail "git clone"
no_diagnostics

# g++: compile a real translation unit (the allocator's own configuration parser) and a program
cat > "$work/prog.cpp" <<'CPP'
#include <map>
#include <string>
#include <iostream>
int main() { std::map<std::string, int> m; for (int i = 0; i < 10000; ++i) m[std::to_string(i)] = i;
  long s = 0; for (auto& [k, v] : m) s += v * (long)k.size(); std::cout << m.size() << " " << s << "\n"; }
CPP
preloaded g++ -std=c++20 -O1 -I"$here/../.." -c "$here/../../libmalloc/base/config.cpp" -o "$work/config.o"
preloaded g++ -O1 "$work/prog.cpp" -o "$work/prog"
[ "$(preloaded "$work/prog")" = "$("$work/prog")" ] || fail "compiled program output"
no_diagnostics

# cmake: configure a project
mkdir -p "$work/proj"
printf 'cmake_minimum_required(VERSION 3.20)\nproject(p CXX)\nadd_executable(p main.cpp)\n' > "$work/proj/CMakeLists.txt"
echo 'int main() { return 0; }' > "$work/proj/main.cpp"
preloaded cmake -S "$work/proj" -B "$work/proj/build" > "$work/cmake.out"
grep -q "Build files have been written" "$work/cmake.out" || fail "cmake configure"
no_diagnostics
echo "bash, git, g++ and cmake: identical results"
