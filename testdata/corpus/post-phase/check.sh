run "$out/bin/greet" post
expect_line "hello, post"
expect_grep "./bin/greet" "$out/share/post-phase/MANIFEST"
