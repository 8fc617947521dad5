run "$out/bin/wrapped-early"
expect_line "wrapped by buildPhase in $out"
