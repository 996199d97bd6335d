#!/usr/bin/env bash
# Programs written elsewhere that allocate as they work, each on inputs that make_text.py wrote
# into DIR before the run: perl's hashes and strings, jq's JSON values, bc's numbers of thousands of
# digits, xz's large buffers (compress, then decompress and checksum), mawk's associative arrays
# (of words, and of each line's first and last), Tcl's dicts. What each prints does not depend on
# the allocator.
# Usage: tool_job.sh TOOL DIR   (TOOL, the program: perl, jq, bc, xz, awk, tclsh)
set -euo pipefail
tool=$1 dir=$2
export LC_ALL=C
exec < /dev/null  # bc reads its standard input after its file
case $tool in
  perl)
    exec perl -e 'my %c; my $chars = 0;
      while (<>) { for my $w (split) { $c{$w}++; $chars += scalar(my @a = split //, $w) } }
      my @top = (sort { $c{$b} <=> $c{$a} || $a cmp $b } keys %c)[0 .. 9];
      print "words ", scalar(keys %c), " chars $chars top @top\n"' "$dir/text.txt" ;;
  jq)
    exec jq -c 'map(select(.v > 0.5)) | group_by(.name)
      | map({k: .[0].name, n: length, t: ([.[].tags[]] | unique | length)})
      | sort_by(-.n, .k) | .[0:5]' "$dir/data.json" ;;
  bc)
    BC_LINE_LENGTH=0 exec bc -lq "$dir/pi.bc" ;;
  xz)
    sum=$(xz -T1 -3 -c "$dir/text.txt" | xz -T1 -d -c | cksum)
    echo "result: xz round trip ${sum%% *}" ;;
  awk)
    exec awk '{ for (i = 1; i <= NF; i++) c[$i]++; pair[$1 "-" $NF]++ } END {
      n = 0; m = 0; for (k in c) { n++; if (c[k] > m) m = c[k] } p = 0; for (k in pair) p++
      print "words", n, "most", m, "pairs", p }' "$dir/text.txt" ;;
  tclsh)
    exec tclsh "$dir/dict.tcl" ;;
  *)
    echo "tool_job.sh: unknown tool $tool" >&2
    exit 2 ;;
esac
