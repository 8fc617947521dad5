run "$out/bin/copied"
expect_line "copied, not unpacked"
