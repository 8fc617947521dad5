#!/bin/sh
# gen.sh N: writes part0.c … part$((N-1)).c, busywork for the compiler
# (about a quarter of a second each at -O2), and parts.h declaring them.
n=$1
i=0
: > parts.h
while [ "$i" -lt "$n" ]; do
    {
        echo "unsigned long part$i(unsigned long x) {"
        j=0
        while [ "$j" -lt 60 ]; do
            echo "  for (int k = 0; k < 3; k++) x = (x * 6364136223846793005UL + $((j * 1000 + i + 1))) ^ (x >> $((j % 31 + 1)));"
            echo "  if (x % $((j + 7)) == $j) x += $i; else x ^= $j;"
            j=$((j + 1))
        done
        echo "  return x;"
        echo "}"
    } > "part$i.c"
    echo "unsigned long part$i(unsigned long);" >> parts.h
    i=$((i + 1))
done
{
    echo "static unsigned long (*const parts[])(unsigned long) = {"
    i=0
    while [ "$i" -lt "$n" ]; do
        echo "  part$i,"
        i=$((i + 1))
    done
    echo "};"
} >> parts.h
