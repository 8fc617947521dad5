got=$(echo abc | "$out/bin/upcase")
[[ $got == ABC ]] || _fail "upcase printed '$got'"
expect_grep "fifo test passed" "$LOG"
