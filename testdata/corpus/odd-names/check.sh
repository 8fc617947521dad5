tmp=$(mktemp -d)
run "$out/bin/mkodd" "$tmp"
expect_line "made 10 odd names"
rm -rf "$tmp"
[[ $(find "$out/share/odd-names" -type f | wc -l) == 10 ]] || _fail "not 10 files in $out/share/odd-names"
run cat "$out/share/odd-names/café ☕" "$out/share/odd-names/-leading-dash" "$out/share/odd-names/tab	here"
expect_line "5"
expect_line "2"
expect_line "9"
