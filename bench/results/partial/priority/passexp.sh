#!/bin/bash
# alternate: nopass, pass, nopass, pass
source /work/main/scripts/env.sh >/dev/null 2>&1
for i in 3 4; do
  for v in idle nopass; do
    d=/tmp/snap-$v
    cd $d
    s=$(date +%s)
    TMPDIR=/dev/shm nix-build bench/workload.nix --argstr workload linux --argstr mode vanilla --argstr stamp exp-$v-$i-$$ > /tmp/passexp-$v-$i.log 2>&1
    e=$(date +%s)
    echo "$v $i: $((e-s)) s; $(grep -h 'buildPhase completed' /tmp/passexp-$v-$i.log | head -1); $(grep -h 'saved checkpoint' /tmp/passexp-$v-$i.log)"
  done
done
