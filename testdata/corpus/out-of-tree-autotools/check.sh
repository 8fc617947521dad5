run "$out/bin/oot-hello"
expect_line "out-of-tree"
expect_line "$out/share/oot-hello"
expect_file "$out/share/oot-hello/words"
