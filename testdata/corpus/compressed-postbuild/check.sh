d=$out/share/compressed-data
run "$out/bin/zcatpath"
expect_line "$d/paths.txt.gz"
gzip -t "$d/paths.txt.gz" || _fail "gzip -t $d/paths.txt.gz"
xz -t "$d/paths.txt.xz" || _fail "xz -t $d/paths.txt.xz"
xz --format=lzma -t "$d/paths.txt.lzma" || _fail "xz -t $d/paths.txt.lzma"
lz4 -t -q "$d/paths.txt.lz4" || _fail "lz4 -t $d/paths.txt.lz4"
for got in "$(gzip -dc "$d/paths.txt.gz")" "$(xz -dc "$d/paths.txt.xz")" "$(xz --format=lzma -dc "$d/paths.txt.lzma")" "$(lz4 -dc "$d/paths.txt.lz4")"; do
    [[ $got == "$d" ]] || _fail "decompressed '$got', want '$d'"
done
