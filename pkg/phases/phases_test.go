package phases

import "testing"

func TestAfterHook(t *testing.T) {
	tests := []struct {
		name, code string
		tails      int
	}{
		{"default end", "runHook preBuild\nmake\nrunHook postBuild\n", 0},
		{"comment after", "make\nrunHook postBuild # done\n# nothing else\n", 0},
		{"command after", "make\nrunHook postBuild\nmake doc\n", 1},
		{"function", "buildPhase () \n{ \n    runHook preBuild;\n    make;\n    runHook postBuild;\n    touch stamp\n}\n", 1},
		{"nested after", "runHook postBuild\nif true; then cp a b; fi\n", 1},
		{"inside if, nothing after", "if [ -f x ]; then make; runHook postBuild; fi\n", 0},
		{"no hook", "make\n", 0},
		{"other hook", "runHook postBuildExtra\nmake\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tails, err := AfterHook(tt.code, "postBuild", "buildPhase")
			if err != nil {
				t.Fatal(err)
			}
			if len(tails) != tt.tails {
				t.Errorf("tails = %v, want %d", tails, tt.tails)
			}
		})
	}
}

func TestAfterHookNamesTheCommand(t *testing.T) {
	tails, err := AfterHook("make\nrunHook postBuild\nln -s a b\n", "postBuild", "buildPhase")
	if err != nil || len(tails) != 1 {
		t.Fatalf("tails = %v, %v", tails, err)
	}
	if tails[0].Line != 3 || tails[0].Command != "ln -s a b" {
		t.Errorf("tail = %+v", tails[0])
	}
}

func TestAfterHookSyntaxError(t *testing.T) {
	if _, err := AfterHook("if then fi (", "postBuild", "buildPhase"); err == nil {
		t.Error("no error for broken code")
	}
}
