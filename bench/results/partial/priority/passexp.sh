#!/bin/bash
# passexp.sh WORKLOAD FIRST LAST VARIANT...: for each repetition FIRST..LAST,
# builds bench/workload.nix's WORKLOAD (mode vanilla, build directories on
# tmpfs) from each /tmp/snap-VARIANT in turn (a `git archive` of the commit
# runs.txt names, the variant's change applied), and prints the build's
# time (wall, and the CPU time of nix-build and its builders), its
# buildPhase line and its save line. runs.txt was made with
# this loop, written out with the workload and variants fixed in it, as
# these calls would run it:
#   passexp.sh linux 1 2 nopass bench
#   passexp.sh linux 3 4 idle nopass
#   passexp.sh binutils 1 2 nopass idle
set -eu
workload=$1 first=$2 last=$3
shift 3
source /work/main/scripts/env.sh >/dev/null 2>&1
for ((i = first; i <= last; i++)); do
    for v in "$@"; do
        log=/tmp/passexp-$workload-$v-$i.log
        cd "/tmp/snap-$v"
        TMPDIR=/dev/shm /usr/bin/time -f '%e s, %U s user + %S s system' -o "$log.time" \
            nix-build bench/workload.nix --argstr workload "$workload" --argstr mode vanilla \
            --argstr stamp "exp-$workload-$v-$i-$$" >"$log" 2>&1
        echo "$workload $v $i: $(cat "$log.time"); $(grep -h 'buildPhase completed' "$log" | head -1); $(grep -h 'saved checkpoint' "$log")"
    done
done
