# Shared by the LD_PRELOAD tests. CTest passes the library and build directory in the environment
# (AIXMALLOC_LIB, AIXMALLOC_BUILD) and the configuration under test (MALLOCTYPE, MALLOCOPTIONS...).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${AIXMALLOC_LIB:?set by ctest}"
: "${AIXMALLOC_BUILD:?set by ctest}"
work=$(mktemp -d)
# The programs these tests run are Debian's, which tools/setup installs. A version manager's shim
# earlier on PATH would run in their place (pyenv's python3 is a bash script that starts some 40
# processes), and every one of those processes would run under the allocator and its reports.
export PATH="/usr/bin:/bin:$PATH"

fail() { echo "FAIL: $*" >&2; exit 1; }

# Runs a command with the library preloaded; stderr is kept in $work/stderr, and must stay free of
# allocator diagnostics unless the test expects them.
preloaded() { LD_PRELOAD="$AIXMALLOC_LIB" "$@" 2>> "$work/stderr"; }

no_diagnostics() {
  if grep -q '^aixmalloc:' "$work/stderr" 2>/dev/null; then fail "allocator diagnostics: $(cat "$work/stderr")"; fi
}
trap 'rc=$?; [ $rc = 0 ] || { echo "--- stderr of the preloaded programs:" >&2; cat "$work/stderr" >&2 2>/dev/null; }; rm -rf "$work"' EXIT
