#!/usr/bin/env bash
# aixmalloc check: the effective configuration with each setting's origin on stdout (the MALLOCDEBUG
# tools in a section of their own), the runtime's own diagnostics on stderr (byte for byte what a
# preloaded program prints), and the exit status.
source "$(dirname "$0")/common.sh"

# The value and origin check prints for a setting: "<value> <origin...>".
setting() { awk -v s="$1" '$1 == s { $1 = ""; sub(/^ +/, ""); print; exit }' "$work/out"; }
expect_setting() {
  local got
  got=$(setting "$1" | tr -s ' ')
  [ "$got" = "$2" ] || fail "check shows $1 as '$got', expected '$2':"$'\n'"$(cat "$work/out")"
}

# 1. Nothing set: every option of the table at its default, exit 0, nothing on stderr.
capture "$cli" check
expect_rc 0 "check of an empty environment"
[ ! -s "$work/err" ] || fail "diagnostics for an empty environment: $(cat "$work/err")"
has_line "$work/out" "Every value is accepted."
expect_setting MALLOCTYPE "Yorktown default"
expect_setting AIXMALLOC_STATS_SIGNAL "auto default"
while read -r kind name variable; do
  [ "$kind" = option ] || continue
  if [ "$variable" = debug ]; then
    [ -z "$(setting "$name")" ] || fail "MALLOCDEBUG option $name is listed though none is on"
  else
    setting "$name" | grep -q 'default$' || fail "option $name is not listed with origin default"
  fi
done < <("$CLI_TABLE_NAMES")
grep -A1 -x 'Debugging tools (MALLOCDEBUG):' "$work/out" | tail -1 | grep -qx '  none' ||
  fail "no 'none' under the MALLOCDEBUG heading:"$'\n'"$(cat "$work/out")"

# 2. A good configuration from the environment and from arguments (an argument wins over the
# environment), each origin named, legacy variables marked.
capture env MALLOCOPTIONS=disclaim MALLOCDISCLAIM=false "$cli" check MALLOCTYPE=watson \
  MALLOCOPTIONS=pool,multiheap:4 MALLOCMULTIHEAP=considersize AIXMALLOC_STATS_JSON="$work/stats.json" \
  AIXMALLOC_STATS_SIGNAL=usr2
expect_rc 0 "check of a good configuration"
[ ! -s "$work/err" ] || fail "diagnostics for a good configuration: $(cat "$work/err")"
expect_setting MALLOCTYPE "watson MALLOCTYPE"
expect_setting multiheap "4 MALLOCOPTIONS"
expect_setting pool "on MALLOCOPTIONS"
expect_setting considersize "on MALLOCMULTIHEAP (legacy)"
expect_setting bucket_sizing_factor "64 default"
expect_setting disclaim "off default"
expect_setting threadcache "on default for watson"
expect_setting AIXMALLOC_STATS_JSON "$work/stats.json AIXMALLOC_STATS_JSON"
expect_setting AIXMALLOC_STATS_SIGNAL "SIGUSR2 AIXMALLOC_STATS_SIGNAL"
# Every spelling of the statistics signal, shown by its name.
for case in "$(kill -l USR1) SIGUSR1" "sigRTMIN+2 SIGRTMIN+2" "RTMAX-1 SIGRTMAX-1" "rtmin SIGRTMIN" "Off off"; do
  read -r value name <<< "$case"
  capture "$cli" check AIXMALLOC_STATS_SIGNAL="$value"
  expect_rc 0 "check AIXMALLOC_STATS_SIGNAL=$value"
  expect_setting AIXMALLOC_STATS_SIGNAL "$name AIXMALLOC_STATS_SIGNAL"
done
capture "$cli" check MALLOCTYPE=buckets MALLOCDISCLAIM=true MALLOCOPTIONS=bucket_statistics:stderr,threadcache:off \
  MALLOCBUCKETS=number_of_buckets:8
expect_rc 0 "check of legacy spellings"
expect_setting number_of_buckets "8 MALLOCBUCKETS (legacy)"
expect_setting buckets "on MALLOCTYPE (legacy)"
expect_setting disclaim "on MALLOCDISCLAIM (legacy)"
expect_setting bucket_statistics "stderr MALLOCOPTIONS"
expect_setting threadcache "off MALLOCOPTIONS"

# MALLOCDEBUG: the tools that are on, each value and origin; catch_overflow's sub-options with their
# effective values when it is on, and the output stream.
capture env MALLOCDEBUG=trace "$cli" check \
  MALLOCDEBUG="[catch_overflow, align:4, fill:c, functionset:main:_ZN3foo3barEv, debug_range:16:4096, output:$work/dbg.%p]"
expect_rc 0 "check of a good MALLOCDEBUG"
[ ! -s "$work/err" ] || fail "diagnostics for a good MALLOCDEBUG: $(cat "$work/err")"
has_line "$work/out" "Debugging tools (MALLOCDEBUG):"
expect_setting catch_overflow "on MALLOCDEBUG"
expect_setting align "4 MALLOCDEBUG"
expect_setting quarantine "268435456 default"
expect_setting sample "off default"
expect_setting fill "0x63 'c' MALLOCDEBUG"
expect_setting functionset "main:_ZN3foo3barEv MALLOCDEBUG"
expect_setting debug_range "16:4096 MALLOCDEBUG"
expect_setting output "$work/dbg.%p MALLOCDEBUG"
[ -z "$(setting trace)" ] || fail "the environment's MALLOCDEBUG was read though an argument replaces it"
[ -z "$(setting checkarena)" ] || fail "checkarena is listed though off"
# MALLOCTYPE=debug is catch_overflow, marked legacy; a tool alone shows the output stream.
capture "$cli" check MALLOCTYPE=debug
expect_rc 0 "check MALLOCTYPE=debug"
expect_setting MALLOCTYPE "Yorktown default"
expect_setting catch_overflow "on MALLOCTYPE (legacy)"
expect_setting align "16 default"
capture "$cli" check --32bit MALLOCTYPE=debug
expect_setting align "8 default"
capture "$cli" check MALLOCDEBUG=validate_ptrs
expect_rc 0 "check MALLOCDEBUG=validate_ptrs"
expect_setting validate_ptrs "on MALLOCDEBUG"
expect_setting output "stderr default"
[ -z "$(setting align)" ] || fail "catch_overflow's sub-options are listed though it is off"
# A sub-option without catch_overflow: accepted, marked, and named on stderr (exit 1).
capture "$cli" check MALLOCDEBUG=align:8
expect_rc 1 "check MALLOCDEBUG=align:8"
expect_setting align "8 MALLOCDEBUG, no effect without catch_overflow"
has_line "$work/err" "aixmalloc: MALLOCDEBUG: 'align' takes effect only with catch_overflow, which is not set; no effect"
# Refused: under 3.1, and the options this build lacks.
capture "$cli" check MALLOCTYPE=3.1_64BIT MALLOCDEBUG=catch_overflow,trace
expect_rc 1 "catch_overflow under 3.1_64BIT"
expect_setting catch_overflow "off MALLOCDEBUG, ignored"
expect_setting trace "on MALLOCDEBUG"
has_line "$work/err" "aixmalloc: MALLOCDEBUG: 'catch_overflow' does not apply to MALLOCTYPE=3.1_64BIT; ignored"
[ "$(wc -l < "$work/err")" = 1 ] || fail "trace is refused: $(cat "$work/err")"

# 3. Bad input: exit 1, and stderr is exactly what the runtime prints for the same variables.
bad=(
  "MALLOCTYPE=nonsense"
  "MALLOCOPTIONS=multiheap:99,bogus,considersize:3"
  "MALLOCTYPE=3.1_64BIT MALLOCOPTIONS=disclaim"
  "MALLOCTYPE=watson2 MALLOCBUCKETS=number_of_buckets:0,bucket_sizing_factor:24"
  "MALLOCDISCLAIM=yes MALLOCMULTIHEAP=heaps:x"
  "MALLOCTYPE=3.1 AIXMALLOC_STATS="
  "MALLOCOPTIONS=,,threadcache:maybe,,pool:12"
  "AIXMALLOC_STATS_SIGNAL=SIGSEGV"
  "MALLOCTYPE=watson AIXMALLOC_STATS_SIGNAL=RTMAX-99 MALLOCOPTIONS=pool"
  "MALLOCDEBUG=align:3,debug_range:9:1,fill:zz,bogus,output:,functionset:a:b-c,quarantine:1"
  "MALLOCTYPE=3.1_64BIT MALLOCDEBUG=[catch_overflow,validate_ptrs,fill:0x100] MALLOCOPTIONS=catch_overflow"
  "MALLOCDEBUG=[log:verbose,stack_depth:99,sample:0]"
)
for case in "${bad[@]}"; do
  read -ra vars <<< "$case"
  capture "$cli" check "${vars[@]}"
  expect_rc 1 "check $case"
  [ -s "$work/err" ] || fail "check $case: no diagnostic"
  grep -qv '^aixmalloc: ' "$work/err" && fail "check $case: a stderr line without the prefix: $(cat "$work/err")"
  grep -q 'rejected or ignored' "$work/out" || fail "check $case: no summary line"
  cp "$work/err" "$work/check.err"
  env "${vars[@]}" LD_PRELOAD="$AIXMALLOC_LIB" "$python" -c 'pass' 2> "$work/runtime.err"
  cmp -s "$work/check.err" "$work/runtime.err" ||
    fail "check $case: stderr differs from the runtime's:"$'\n'"$(diff "$work/check.err" "$work/runtime.err")"
done
# The first line of one case, literally.
capture "$cli" check MALLOCTYPE=nonsense
has_line "$work/err" "aixmalloc: MALLOCTYPE: unknown policy 'nonsense'; using the default policy (Yorktown)"
# A signal the parser refuses leaves the runtime to pick one, the variable marked ignored.
capture "$cli" check AIXMALLOC_STATS_SIGNAL=TERM
expect_rc 1 "check AIXMALLOC_STATS_SIGNAL=TERM"
expect_setting AIXMALLOC_STATS_SIGNAL "auto AIXMALLOC_STATS_SIGNAL, ignored"
has_line "$work/err" "aixmalloc: AIXMALLOC_STATS_SIGNAL: 'TERM' is not USR1, USR2, RTMIN+n, RTMAX-n or off (n 0-$(($(kill -l RTMAX) - $(kill -l RTMIN)))); aixmalloc picks a free real-time signal"
# An option that does not apply to the policy stays off; its diagnostic says why.
capture "$cli" check MALLOCTYPE=3.1_64BIT MALLOCOPTIONS=disclaim
setting disclaim | grep -q '^off ' || fail "disclaim under 3.1_64BIT: $(setting disclaim)"
has_line "$work/err" "aixmalloc: MALLOCOPTIONS: 'disclaim' does not apply to MALLOCTYPE=3.1_64BIT; ignored"

# 4. --32bit: 3.1 is a 32-bit policy, and the sizing factor's multiple is 8.
capture "$cli" check --32bit MALLOCTYPE=3.1
expect_rc 0 "check --32bit of 3.1"
has "$work/out" "a 32-bit program"
expect_setting MALLOCTYPE "3.1 MALLOCTYPE"
capture "$cli" check MALLOCTYPE=3.1
expect_rc 1 "3.1 in a 64-bit program"
capture "$cli" check --32bit MALLOCOPTIONS=bucket_sizing_factor:24
expect_rc 0 "check --32bit of a sizing factor of 24"
expect_setting bucket_sizing_factor "24 MALLOCOPTIONS"
capture "$cli" check MALLOCOPTIONS=bucket_sizing_factor:24
expect_rc 1 "a sizing factor of 24 in a 64-bit program"

# 5. Bad arguments: exit 2.
for arg in NOTAVARIABLE=1 MALLOCTYPE --bogus; do
  capture "$cli" check "$arg"
  expect_rc 2 "check $arg"
  grep -q '^aixmalloc check: ' "$work/err" || fail "check $arg: no message"
done
echo "aixmalloc check: defaults, origins, legacy variables, the runtime's diagnostics, exit status"
