run "$out/bin/probe"
expect_line "test suite: yes"
expect_grep "ok 1 ./probe" "$LOG"
