run "$out/bin/sums"
expect_line "data = $out/share/sums"
expect_line "level = 3"
(cd "$out/share/sums" && sha256sum --quiet -c SHA256SUMS) || _fail "sha256sum -c SHA256SUMS failed"
