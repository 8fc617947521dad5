run "$out/bin/sumargs" 1 2 39
expect_line "42"
