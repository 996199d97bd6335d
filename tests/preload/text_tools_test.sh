#!/usr/bin/env bash
# Programs written elsewhere, on the inputs of the benchmarks' text tools (tools/bench/workloads:
# make_text.py writes them, tool_job.sh runs the programs), each compared with its run without
# aixmalloc: perl's hashes and strings, jq's JSON values, bc's numbers of a thousand digits, xz's
# large buffers (a compression and decompression round trip), mawk's associative arrays, Tcl's dicts.
source "$(dirname "$0")/common.sh"
bench="$here/../../tools/bench/workloads"
python3 "$bench/make_text.py" "$work" 20000
checked=()
for tool in perl jq bc xz awk tcl; do
  program=$tool
  [ "$tool" = tcl ] && program=tclsh
  command -v "$program" > /dev/null || fail "$program not found (tools/setup installs it)"
  expected=$(bash "$bench/tool_job.sh" "$tool" "$work")
  [ -n "$expected" ] || fail "$tool printed nothing without aixmalloc"
  got=$(preloaded bash "$bench/tool_job.sh" "$tool" "$work") || fail "$tool failed under aixmalloc"
  [ "$got" = "$expected" ] || fail "$tool: '${got:0:200}' != '${expected:0:200}'"
  checked+=("$tool")
done
no_diagnostics
echo "${checked[*]}: identical results"
