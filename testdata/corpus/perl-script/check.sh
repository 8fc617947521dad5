got=$(echo "the quick brown fox jumps over the lazy dog" | "$out/bin/wrap80" 15)
[[ $got == $'the quick brown\nfox jumps over\nthe lazy dog' ]] || _fail "wrap80 printed '$got'"
expect_shebang "$out/bin/wrap80" "/nix/store/*-perl-host/bin/perl"
