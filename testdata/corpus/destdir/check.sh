got=$(printf 'abcd' | "$out/bin/countc")
[[ $got == 4 ]] || _fail "countc printed '$got'"
expect_file "$out/share/man/man1/countc.1.gz"
