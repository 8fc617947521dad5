run cat "$out/share/home-cache/greeting.txt" "$out/share/home-cache/install.txt"
expect_line "build: run 1"
expect_line "install: run 2"
