#!/usr/bin/env bash
# A shell script under the allocator being measured, as configure scripts, build scripts and cron
# jobs are: short coreutils processes (sort, uniq, wc, tr, cut, basename, dirname, expr, seq, tail,
# sed) that bash starts in pipelines and command substitutions, about 14 a round. What it costs is
# each process's start-up and exit and each fork of the shell more than any allocation: the
# allocator's own start-up, the memory it touches first and the page tables it needs count here.
# Prints a digest of what the commands printed, which does not depend on the allocator.
# Usage: shell_job.sh N   (run passes 150 rounds, --quick 30)
set -euo pipefail
n=${1:-150}
export LC_ALL=C
digest=$(
  for i in $(seq 1 "$n"); do
    printf '%s\n' c b a "$i" b | sort | uniq | wc -l
    x=$(basename "/a/b/c$i.txt" .txt)
    y=$(dirname "/a/b/$x")
    echo "$y/$x" | tr a-z A-Z | cut -c1-5
    expr "$i" \* 3
    seq "$i" | tail -n 1 | sed 's/^/n=/'
  done | cksum)
echo "result: shell rounds=$n digest=${digest%% *}"
