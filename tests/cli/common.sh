# Shared by the aixmalloc command's tests. CTest passes the command, the library, the source tree
# and the helper programs in the environment (tests/cli/CMakeLists.txt).
set -euo pipefail
: "${AIXMALLOC_CLI:?set by ctest}"
: "${AIXMALLOC_LIB:?set by ctest}"
: "${AIXMALLOC_SOURCE:?set by ctest}"
cli=$AIXMALLOC_CLI
python=/usr/bin/python3
export LC_ALL=C
# No malloc variable from the caller's environment may leak into a test.
unset MALLOCTYPE MALLOCOPTIONS MALLOCBUCKETS MALLOCMULTIHEAP MALLOCDISCLAIM MALLOCDEBUG AIXMALLOC_STATS \
  AIXMALLOC_STATS_JSON AIXMALLOC_STATS_SIGNAL AIXMALLOC_LIBRARY
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# Runs a command with output to $work/out and $work/err; its exit status in $rc.
capture() {
  set +e
  "$@" > "$work/out" 2> "$work/err"
  rc=$?
  set -e
}

expect_rc() { [ "$rc" = "$1" ] || fail "$2: exit status $rc, expected $1; stdout: $(head -c 600 "$work/out"); stderr: $(head -c 600 "$work/err")"; }
has_line() { grep -qxF -- "$2" "$1" || fail "$(basename "$1") lacks the line '$2':"$'\n'"$(cat "$1")"; }
has() { grep -qF -- "$2" "$1" || fail "$(basename "$1") lacks '$2':"$'\n'"$(cat "$1")"; }
