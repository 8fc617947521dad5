package stage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutputCycle finds cycles between outputs as Nix's reference scan
// would: hashes in file bytes and in symlink targets, over two and three
// outputs, and none where the references go one way.
func TestOutputCycle(t *testing.T) {
	hash := func(c string) string { return strings.Repeat(c, 32) }
	for _, tt := range []struct {
		name  string
		files map[string]map[string]string // output -> file -> content ("->" for a symlink)
		want  string
	}{
		{"none", map[string]map[string]string{"out": {"bin/x": "plain"}, "dev": {"include/x.h": "plain"}}, ""},
		{"one way", map[string]map[string]string{"out": {"bin/x": "/nix/store/" + hash("d") + "-x-dev"}, "dev": {"include/x.h": "plain"}}, ""},
		{"two", map[string]map[string]string{
			"out": {"lib/pkgconfig/x.pc": "includedir=/nix/store/" + hash("d") + "-x-dev/include"},
			"dev": {"lib/cmake/x.cmake": "set(prefix /nix/store/" + hash("a") + "-x)"},
		}, "dev → out (lib/cmake/x.cmake), out → dev (lib/pkgconfig/x.pc)"},
		{"across chunks", map[string]map[string]string{
			"out": {"lib/big": strings.Repeat("-", 1<<20+10) + "/nix/store/" + hash("d") + "-x-dev"},
			"dev": {"lib/x.cmake": "/nix/store/" + hash("a") + "-x"},
		}, "dev → out (lib/x.cmake), out → dev (lib/big)"},
		{"symlink", map[string]map[string]string{
			"out": {"share/x": "->/nix/store/" + hash("d") + "-x-dev/share/x"},
			"dev": {"nix-support/propagated": "/nix/store/" + hash("a") + "-x"},
		}, "dev → out (nix-support/propagated), out → dev (share/x)"},
		{"three", map[string]map[string]string{
			"out": {"a": "/nix/store/" + hash("d") + "-x-dev"},
			"dev": {"b": "/nix/store/" + hash("l") + "-x-lib"},
			"lib": {"c": "/nix/store/" + hash("a") + "-x"},
		}, "dev → lib (b), lib → out (c), out → dev (a)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			store := t.TempDir()
			paths := map[string]string{
				"out": filepath.Join(store, hash("a")+"-x"),
				"dev": filepath.Join(store, hash("d")+"-x-dev"),
				"lib": filepath.Join(store, hash("l")+"-x-lib"),
			}
			outputs := map[string]string{}
			for o, files := range tt.files {
				outputs[o] = paths[o]
				for name, content := range files {
					p := filepath.Join(paths[o], name)
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						t.Fatal(err)
					}
					var err error
					if target, ok := strings.CutPrefix(content, "->"); ok {
						err = os.Symlink(target, p)
					} else {
						err = os.WriteFile(p, []byte(content), 0o644)
					}
					if err != nil {
						t.Fatal(err)
					}
				}
			}
			refs, err := outputCycle(outputs)
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(refs); got != tt.want {
				t.Errorf("cycle %q, want %q", got, tt.want)
			}
		})
	}
}
