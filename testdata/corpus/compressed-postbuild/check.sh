d=$out/share/compressed-data
run "$out/bin/zcatpath"
expect_line "$d/paths.txt.gz"
gzip -t "$d/paths.txt.gz" || _fail "gzip -t $d/paths.txt.gz"
xz -t "$d/paths.txt.xz" || _fail "xz -t $d/paths.txt.xz"
for got in "$(gzip -dc "$d/paths.txt.gz")" "$(xz -dc "$d/paths.txt.xz")"; do
    [[ $got == "$d" ]] || _fail "decompressed '$got', want '$d'"
done
