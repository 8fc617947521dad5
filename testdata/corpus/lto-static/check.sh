# link a program against the installed archive, through the LTO IR
tmp=$(mktemp -d)
printf '#include <stdio.h>\n#include <ltoconf.h>\nint main(void) { puts(ltoconf_dir()); return 0; }\n' > "$tmp/use.c"
gcc -O2 -flto -I"$out/include" -o "$tmp/use" "$tmp/use.c" "$out/lib/libltoconf.a" || _fail "linking against libltoconf.a failed"
run "$tmp/use"
expect_line "$out/etc/ltoconf"
# and without LTO, through the fat object code
gcc -O2 -I"$out/include" -o "$tmp/use-nolto" "$tmp/use.c" "$out/lib/libltoconf.a"
run "$tmp/use-nolto"
expect_line "$out/etc/ltoconf"
rm -rf "$tmp"
