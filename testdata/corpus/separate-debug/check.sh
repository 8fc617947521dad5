run "$out/bin/fib" 20
expect_line "6765"
id=$(readelf -n "$out/bin/fib" | sed -n 's/.*Build ID: //p')
expect_file "$debug/lib/debug/.build-id/${id:0:2}/${id:2}.debug"
gdb -batch -iex "set debug-file-directory $debug/lib/debug" -ex 'info line fib' "$out/bin/fib" 2>&1 | grep -q 'fib.c' || _fail "gdb does not find fib's debug information in $debug"
