run "$out/bin/readable" /etc/hostname
expect_line "/etc/hostname: readable"
expect_grep "permission test passed" "$LOG"
