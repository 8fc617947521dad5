run "$out/bin/plural" mango
expect_line "mangos"
[[ $(wc -l < "$out/share/unsorted/files.txt") == 7 ]] || _fail "files.txt does not list 7 files"
tar -tf "$out/share/unsorted/generated.tar" | grep -qx 'generated/kiwi' || _fail "generated.tar lacks generated/kiwi"
