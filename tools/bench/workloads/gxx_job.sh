#!/usr/bin/env bash
# g++ under the allocator being measured (the driver, cc1plus, as and ld all inherit the preload):
# it compiles tools/bench/src/interp.cpp and symalg.cpp, real translation units that pull in the C++
# standard headers, at the optimisation level given. Prints a digest of the disassembly, which does
# not depend on the allocator.
# Usage: gxx_job.sh OPT   (run passes -O2, --quick -O0)
set -euo pipefail
opt=${1:--O2}
src=$(cd "$(dirname "$0")/../src" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aixbench-gxx.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export LC_ALL=C
cd "$tmp"
for f in interp symalg; do
  cp "$src/$f.cpp" "$src/common.h" .
  g++ -std=c++17 "$opt" -c "$f.cpp" -o "$f.o"
done
dis=$(objdump -d -r interp.o symalg.o | cksum)
echo "result: g++ $opt disassembly=${dis%% *}"
