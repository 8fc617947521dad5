run "$out/bin/defaults"
expect_line "teal 72"
