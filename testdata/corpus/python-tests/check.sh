out_text=$(echo "the cat and the hat and the bat" | PYTHONPATH=$out/lib/python3.11/site-packages "$out/bin/wordfreq" 2)
[[ $out_text == $'the\nand' ]] || _fail "wordfreq printed '$out_text'"
expect_grep "wordfreq tests ran against $out/lib/python3.11/site-packages/wordfreq" "$LOG"
