run "$out/bin/vendored" stressed
expect_line "desserts"
