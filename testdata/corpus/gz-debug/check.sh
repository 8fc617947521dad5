run "$out/bin/where"
expect_line "$out/lib/where"
readelf -S -W "$out/bin/where" | grep "\.debug_info" | grep -qE "\s[A-Z]*C[A-Z]*\s" || _fail "the debug sections of $out/bin/where are not compressed"
tmp=$(mktemp -d)
objcopy --decompress-debug-sections "$out/bin/where" "$tmp/where"
# every store path in the decompressed debug info is this output's
names=$(grep -ao '/nix/store/[a-z0-9]\{32\}-gz-debug-1.0' "$tmp/where" | sort -u)
rm -rf "$tmp"
[[ $names == "$out" ]] || _fail "decompressed debug info names '$names', not only $out"
