run "$out/bin/sconsy"
expect_line "sconsy shares $out/share/sconsy"
