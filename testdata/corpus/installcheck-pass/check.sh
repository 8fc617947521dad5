out_text=$(echo "Uryyb, jbeyq" | "$out/bin/rot13")
[[ $out_text == "Hello, world" ]] || _fail "rot13 printed '$out_text'"
expect_grep "installcheck passed: $out/bin/rot13" "$LOG"
