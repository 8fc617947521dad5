#!/bin/bash
source /work/main/scripts/env.sh >/dev/null 2>&1
for i in 1 2; do
  for v in nopass idle; do
    cd /tmp/snap-$v
    s=$(date +%s)
    TMPDIR=/dev/shm nix-build bench/workload.nix --argstr workload binutils --argstr mode vanilla --argstr stamp bexp-$v-$i-$$ > /tmp/bexp-$v-$i.log 2>&1
    e=$(date +%s)
    echo "binutils $v $i: $((e-s)) s; $(grep -h 'buildPhase completed' /tmp/bexp-$v-$i.log | head -1); $(grep -h 'saved checkpoint' /tmp/bexp-$v-$i.log)"
  done
done
