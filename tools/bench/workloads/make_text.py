#!/usr/bin/env python3
"""Inputs for tool_job.sh, made once before a run (not measured): the same bytes every time.

    make_text.py DIR LINES

DIR/text.txt   LINES lines of 8 words drawn from 5,000 (about 46 bytes a line)
DIR/data.json  an array of LINES * 3 / 4 records {id, name, tags: [5 words], v}
DIR/pi.bc      bc's program for pi to 1,000 + LINES / 200 digits
DIR/dict.tcl   a Tcl script counting text.txt's words in a dict
"""
import json
import os
import random
import sys


def main():
    out, lines = sys.argv[1], int(sys.argv[2])
    rng = random.Random(20261208)
    words = ["w%d" % i for i in range(5000)]
    with open(os.path.join(out, "text.txt"), "w") as f:
        for _ in range(lines):
            f.write(" ".join(rng.choice(words) for _ in range(8)) + "\n")
    records = [{"id": i, "name": rng.choice(words), "tags": [rng.choice(words) for _ in range(5)],
                "v": round(rng.random(), 6)} for i in range(lines * 3 // 4)]
    with open(os.path.join(out, "data.json"), "w") as f:
        json.dump(records, f)
    with open(os.path.join(out, "pi.bc"), "w") as f:
        f.write("scale=%d; 4*a(1)\n" % (1000 + lines // 200))
    with open(os.path.join(out, "dict.tcl"), "w") as f:
        f.write("set d [dict create]\n"
                "set f [open [file join [file dirname [info script]] text.txt]]\n"
                "while {[gets $f line] >= 0} { foreach w $line { dict incr d $w } }\n"
                "close $f\n"
                "set top [lrange [lsort -integer -decreasing -stride 2 -index 1 $d] 0 9]\n"
                "puts \"words [dict size $d] top $top\"\n")


if __name__ == "__main__":
    main()
