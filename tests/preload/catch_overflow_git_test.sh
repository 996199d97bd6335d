#!/usr/bin/env bash
# git under MALLOCDEBUG=catch_overflow: a repository built commit by commit, packed, logged, diffed
# and cloned, each result compared with plain git's; then log and blame of this source tree.
source "$(dirname "$0")/common.sh"
source "$here/catch_overflow_common.sh"
catch_overflow_on
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.invalid GIT_COMMITTER_NAME=t \
  GIT_COMMITTER_EMAIL=t@example.invalid GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' \
  GIT_COMMITTER_DATE='2026-01-01T00:00:00Z' GIT_CONFIG_NOSYSTEM=1 LC_ALL=C
# The same history built twice, by plain git and by git under catch_overflow: the same commits.
for who in plain preloaded; do
  repo="$work/repo-$who"
  $who git init -q -b main "$repo"
  for i in $(seq 1 25); do
    seq 1 $((i * 150)) | sed "s/^/line $i /" > "$repo/file$((i % 6)).txt"
    mkdir -p "$repo/dir$((i % 3))"
    echo "$i" > "$repo/dir$((i % 3))/n$i"
    $who git -C "$repo" add -A
    $who git -C "$repo" commit -qm "commit $i"
  done
  $who git -C "$repo" gc -q
done
[ "$(git -C "$work/repo-plain" rev-parse HEAD)" = "$(git -C "$work/repo-preloaded" rev-parse HEAD)" ] ||
  fail "git commit: another history under catch_overflow"
repo="$work/repo-plain"
compare() {  # label, git arguments: the same output with and without catch_overflow
  local label=$1
  shift
  plain git "$@" > "$work/expected.$label"
  preloaded git "$@" > "$work/out.$label"
  [ -s "$work/expected.$label" ] || fail "git $label printed nothing without aixmalloc"
  cmp -s "$work/expected.$label" "$work/out.$label" || {
    diff -u "$work/expected.$label" "$work/out.$label" | head -20 || true
    fail "git $label: output differs under catch_overflow"
  }
}
compare log-stat -C "$repo" log --stat --format='%H %s'
compare log-patch -C "$repo" log -p -n 8
compare diff -C "$repo" diff HEAD~20 HEAD --stat
compare verify-pack -C "$repo" verify-pack -v "$(ls "$repo"/.git/objects/pack/*.idx | head -1)"
preloaded git -C "$repo" fsck --full --no-dangling --no-progress || fail "git fsck under catch_overflow"
preloaded git clone -q "$repo" "$work/clone"
[ "$(git -C "$work/clone" rev-parse HEAD)" = "$(git -C "$repo" rev-parse HEAD)" ] || fail "git clone"
echo "changed" >> "$work/clone/file1.txt"
echo "new" > "$work/clone/untracked.txt"
compare status -C "$work/clone" --no-optional-locks status
# This source tree, read only (a shallow or missing history is skipped).
src=$(cd "$here/../.." && pwd)
if git -C "$src" rev-parse --verify -q HEAD~5 >/dev/null 2>&1; then
  compare src-log -C "$src" log --stat -n 30
  compare src-blame -C "$src" blame -w HEAD -- CMakeLists.txt
fi
no_diagnostics
echo "git under catch_overflow: identical results ($(elapsed))"
