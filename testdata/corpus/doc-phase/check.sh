run "$out/bin/greet" doc
expect_line "hello, doc"
run cat "$out/share/doc/doc-phase/usage.txt"
expect_line "usage: greet [NAME]"
