run "$out/bin/multi-upper" quiet
expect_line "QUIET"
run cat "$out/share/doc/multi/links"
expect_line "2"
[[ $out/bin/multi -ef $out/bin/multi-upper ]] || _fail "multi and multi-upper are not one file"
[[ $out/share/doc/multi/MANUAL -ef $out/share/doc/multi/manual.txt ]] || _fail "MANUAL and manual.txt are not one file"
