# Shared by the catch_overflow tests, sourced after common.sh. CTest sets MALLOCDEBUG=catch_overflow
# (and the policy's variables); catch_overflow_on checks that the preloaded library really guards
# blocks (bench_live_blocks --check-guarded: 16 blocks in a row end at a page boundary), so that a
# test cannot pass because catch_overflow was silently off.
#
# A library built before MALLOCDEBUG was parsed ignores the variable; then, and only then (it does not
# name MALLOCDEBUG in a diagnostic for an unknown sub-option), the test runs with the legacy spelling
# MALLOCTYPE=debug, which is catch_overflow over the default policy, and says so.
live_blocks="$AIXMALLOC_BUILD/tests/live_blocks"
[ -x "$live_blocks" ] || fail "$live_blocks is missing (built with the tests)"

guarded_now() { LD_PRELOAD="$AIXMALLOC_LIB" "$live_blocks" --check-guarded 2> "$work/probe.err"; }

catch_overflow_on() {
  case ${MALLOCDEBUG:-} in
    *catch_overflow*) ;;
    *) fail "MALLOCDEBUG=catch_overflow is not set (the CTest configuration sets it)" ;;
  esac
  [ "$(guarded_now)" = "guarded=yes" ] && return 0
  local parsed
  parsed=$(MALLOCDEBUG=catch_overflow,no_such_suboption LD_PRELOAD="$AIXMALLOC_LIB" "$live_blocks" --check-guarded 2>&1 >/dev/null |
    grep -c MALLOCDEBUG || true)
  if [ "$parsed" = 0 ]; then
    echo "NOTE: this libaixmalloc.so does not read MALLOCDEBUG yet: running with MALLOCTYPE=debug" \
      "(catch_overflow over the default policy${MALLOCTYPE:+, instead of MALLOCTYPE=$MALLOCTYPE})"
    unset MALLOCDEBUG
    export MALLOCTYPE=debug
    [ "$(guarded_now)" = "guarded=yes" ] && return 0
  fi
  fail "catch_overflow is not active under MALLOCDEBUG=${MALLOCDEBUG:-} MALLOCTYPE=${MALLOCTYPE:-}" \
    "MALLOCOPTIONS=${MALLOCOPTIONS:-}: blocks do not end at a page boundary ($(cat "$work/probe.err"))"
}

# The environment that is compared with: no catch_overflow, nothing preloaded.
plain() { env -u MALLOCDEBUG -u MALLOCTYPE -u MALLOCOPTIONS -u LD_PRELOAD "$@"; }

# Seconds since the test started, for the closing line.
started=$SECONDS
elapsed() { echo "$((SECONDS - started)) s"; }
