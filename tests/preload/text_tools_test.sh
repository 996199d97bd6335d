#!/usr/bin/env bash
# Programs written elsewhere, on the inputs of the benchmarks' text tools (tools/bench/workloads:
# make_text.py writes them, tool_job.sh runs the programs), each compared with its run without
# aixmalloc: perl's hashes and strings, jq's JSON values, bc's numbers of a thousand digits, xz's
# large buffers (a compression and decompression round trip), mawk's associative arrays, Tcl's
# dicts.
# Each preloaded run ends with aixmalloc's status report (AIXMALLOC_STATS=stderr), which shows the
# programs ran on it, not on glibc's malloc behind a library the loader refused.
source "$(dirname "$0")/common.sh"
bench="$here/../../tools/bench/workloads"
python3 "$bench/make_text.py" "$work" 20000
checked=()
report="Statistical Report on the Malloc Subsystem"
for tool in perl jq bc xz awk tclsh; do
  command -v "$tool" > /dev/null || fail "$tool not found (tools/setup installs it)"
  expected=$(bash "$bench/tool_job.sh" "$tool" "$work")
  [ -n "$expected" ] || fail "$tool printed nothing without aixmalloc"
  before=$(grep -c "$report" "$work/stderr" 2> /dev/null || true)
  got=$(AIXMALLOC_STATS=stderr preloaded bash "$bench/tool_job.sh" "$tool" "$work") ||
    fail "$tool failed under aixmalloc"
  [ "$(grep -c "$report" "$work/stderr")" -gt "${before:-0}" ] || fail "$tool: no status report"
  [ "$got" = "$expected" ] || fail "$tool: '${got:0:200}' != '${expected:0:200}'"
  checked+=("$tool")
done
no_diagnostics
echo "${checked[*]}: identical results"
