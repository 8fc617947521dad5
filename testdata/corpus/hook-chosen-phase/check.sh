run "$out/bin/chosen"
expect_line "installed by manifest under $out"
expect_file "$out/share/man/man1/chosen.1.gz"
expect_grep "manifest: installed bin/chosen" "$LOG"
