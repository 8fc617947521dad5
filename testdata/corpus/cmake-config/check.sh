run "$out/bin/palette-list"
expect_line "red, green, blue"
expect_line "$out/share/palette/palette.txt"
expect_file "$out/share/palette/palette.txt"
