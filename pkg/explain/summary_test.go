package explain

import (
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	zlib := "/nix/store/" + fakeHash("z") + "-zlib-1.3"
	zlib2 := "/nix/store/" + fakeHash("y") + "-zlib-1.3"
	long := strings.Repeat("x", 60)
	for _, tc := range []struct{ old, new, want string }{
		{"PREFIX=$(out)", "PREFIX=$(out) EXTRA=1", "+ EXTRA=1"},
		{"A=1 B=2 C=3", "A=1 C=3", "- B=2"},
		{"A=1", "A=2", "A=1 → A=2"},
		{"", "-DX=1", "+ -DX=1"},
		{"1.3", "1.3.1", "1.3 → 1.3.1"},
		{"", "x", "+ x"},
		{"a b", "b a", "- a, + a"},
		{"a  b", "a b", "whitespace or order"},
		{zlib, zlib2, "other store paths"},
		{zlib + " /nix/store/" + fakeHash("m") + "-make-wrapper", zlib, "- make-wrapper"},
		{`["a","b"]`, `["a","b","c d"]`, "+ c d"},
		{"echo hi\n", "echo hi\nwrapProgram $out/bin/x\n", `+ "wrapProgram $out/bin/x"`},
		{"a\nb\nc", "a\nc\nd", `- "b", + "d"`},
		{"1", "1 2 3 4 5 6 7", "+ 2, + 3, + 4, + 5, … 2 more"},
		{"", "ln -s a b", `+ "ln -s a b"`},
		{"echo a\necho b", "  ", `- "echo a" … (2 lines)`},
		{"x", long, "x → " + long[:maxItemLen] + "…"},
		{"PREFIX=/nix/store/<output out>-hello", "PREFIX=/nix/store/<output out>-hello X", "+ X"},
	} {
		if got := Summarize(tc.old, tc.new); got != tc.want {
			t.Errorf("Summarize(%q, %q) = %q, want %q", tc.old, tc.new, got, tc.want)
		}
	}
}

func TestSummarizeCode(t *testing.T) {
	for _, tc := range []struct{ old, new, want string }{
		{"echo hi", "echo bye", `"echo hi" → "echo bye"`},
		{"echo hi", "echo hi\nwrapProgram $out/bin/x", `+ "wrapProgram $out/bin/x"`},
		{"a\nb", "b", `- "a"`},
	} {
		if got := SummarizeCode(tc.old, tc.new); got != tc.want {
			t.Errorf("SummarizeCode(%q, %q) = %q, want %q", tc.old, tc.new, got, tc.want)
		}
	}
	for name, want := range map[string]bool{"postFixup": true, "preBuild": true, "installPhase": true, "buildCommand": true,
		"prefix": false, "makeFlags": false, "postgresql": false, "pre": false} {
		if isCode(name) != want {
			t.Errorf("isCode(%q) = %v", name, !want)
		}
	}
}

func TestBrief(t *testing.T) {
	for _, tc := range []struct{ v, want string }{
		{"1", "1"},
		{"", `""`},
		{"echo hi\necho bye\n", `"echo hi" … (2 lines)`},
		{"/nix/store/" + fakeHash("z") + "-zlib-1.3/lib", "zlib-1.3/lib"},
	} {
		if got := Brief(tc.v); got != tc.want {
			t.Errorf("Brief(%q) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

// Long lists fall back to counting, with the same result for simple
// additions.
func TestDiffLong(t *testing.T) {
	var a []string
	for i := range 2000 {
		a = append(a, strings.Repeat("w", i%7)+string(rune('a'+i%26)))
	}
	b := append(append([]string{}, a...), "new")
	removed, added := diff(a, b)
	if len(removed) != 0 || len(added) != 1 || added[0] != "new" {
		t.Errorf("removed %q added %q", removed, added)
	}
}
