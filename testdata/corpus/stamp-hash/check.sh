run "$out/bin/lookup" 4
expect_line "16"
