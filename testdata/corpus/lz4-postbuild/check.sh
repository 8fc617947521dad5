d=$out/share/lz4-data
run "$out/bin/zcatpath"
expect_line "$d/paths.txt.lz4"
lz4 -t -q "$d/paths.txt.lz4" || _fail "lz4 -t $d/paths.txt.lz4"
xz --format=lzma -t "$d/paths.txt.lzma" || _fail "xz --format=lzma -t $d/paths.txt.lzma"
for got in "$(lz4 -dc "$d/paths.txt.lz4")" "$(xz --format=lzma -dc "$d/paths.txt.lzma")"; do
    [[ $got == "$d" ]] || _fail "decompressed '$got', want '$d'"
done
