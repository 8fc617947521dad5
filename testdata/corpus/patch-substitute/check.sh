run "$out/bin/fortune" 1
expect_line "Look before you leap."
