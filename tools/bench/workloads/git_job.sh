#!/usr/bin/env bash
# git under the allocator being measured: a bare clone of this repository (pack-objects and
# index-pack), `git log -p --stat` over the last N commits, then a full repack with delta search on
# two threads (many mid-sized buffers, zlib streams, a delta window of objects). Prints digests of
# what git printed and the object count, which do not depend on the allocator. run passes a
# snapshot of the repository made at its start (GIT_JOB_SOURCE), so that commits made while it runs
# do not change the output.
# Usage: git_job.sh N   (run passes 150, --quick 20)
set -euo pipefail
n=${1:-150}
repo=${GIT_JOB_SOURCE:-$(cd "$(dirname "$0")/../../.." && pwd)}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aixbench-git.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export GIT_CONFIG_NOSYSTEM=1 HOME="$tmp" LC_ALL=C
git clone -q --bare --no-local "$repo" "$tmp/g.git"
log=$(git -C "$tmp/g.git" log -p --stat --no-color -n "$n" HEAD | cksum)
git -C "$tmp/g.git" repack -a -d -f -q --window=50 --depth=50 --threads=2
objects=$(git -C "$tmp/g.git" count-objects -v | sed -n 's/^in-pack: //p')
fsck=$(git -C "$tmp/g.git" fsck --no-progress 2>&1 | grep -c . || true)
echo "result: git commits=$n log=${log%% *} in-pack=$objects fsck-lines=$fsck"
