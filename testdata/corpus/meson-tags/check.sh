run "$out/bin/tagged"
expect_line "tagged"
expect_line "$out/share/tagged"
expect_file "$out/share/tagged/motd.txt"
# mesonInstallTags = runtime: neither the header nor the static library
[[ ! -e $out/include/tagged.h ]] || _fail "the devel tag was installed: $out/include/tagged.h"
[[ ! -e $out/lib/libtagged.a ]] || _fail "the devel tag was installed: $out/lib/libtagged.a"
expect_grep "--suite fast" "$LOG"
