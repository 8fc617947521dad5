package ninjalog

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRandomManifests compares the evaluation of random manifests with
// ninja: where ninja accepts a manifest, Commands (which checks every
// command against ninja -t compdb) must succeed, and after a build every
// entry ninja logged must carry HashCommand of the evaluated string,
// response file content and implicit outputs included. The manifests mix
// variable scopes, escapes, quoting, path canonicalisation, subninja and
// the binding quirks described in the package documentation.
func TestRandomManifests(t *testing.T) {
	requireNinja(t)
	if testing.Short() {
		t.Skip("runs ninja a few hundred times")
	}
	const iterations = 150
	r := rand.New(rand.NewSource(1))
	pick := func(xs ...string) string { return xs[r.Intn(len(xs))] }
	value := func() string {
		var b strings.Builder
		for n := r.Intn(6); n > 0; n-- {
			b.WriteString(pick("x", "y z", ":", "|", "#", "'", `"`, `\`, "é", "\t", "-O2",
				"$$", "$ ", "$:", "$\n    ", "${a}", "$a", "$b", "$c.d", "${c.d}", "$flags",
				"$in", "$out", "$in_newline", "$description", "$rspfile"))
		}
		return b.String()
	}
	// Relative paths only: ninja creates the directories of outputs.
	path := func() string {
		var b strings.Builder
		for n := 1 + r.Intn(3); n > 0; n-- {
			b.WriteString(pick("p", "q", "./", "dir/", ".", "x.o", "-", "'", "é", "$ ", "$:", "$a", "${c.d}"))
		}
		return b.String()
	}
	bindings := func(indent string) string {
		var b strings.Builder
		for n := r.Intn(3); n > 0; n-- {
			fmt.Fprintf(&b, "%s%s = %s\n", indent, pick("a", "b", "c.d", "flags", "in", "out",
				"command", "description", "rspfile_content"), value())
		}
		return b.String()
	}
	var accepted, logged int
	for i := 0; i < iterations; i++ {
		var m strings.Builder
		m.WriteString(bindings(""))
		rules := []string{"phony"}
		for j := 0; j < 1+r.Intn(3); j++ {
			name := fmt.Sprintf("r%d", j)
			rules = append(rules, name)
			// ":" ignores its arguments; "|" in a value may still pipe
			// into a command that does not exist, which only fails that
			// edge.
			fmt.Fprintf(&m, "rule %s\n  command = : %s %s\n", name, name, value())
			if r.Intn(2) == 0 {
				fmt.Fprintf(&m, "  description = %s\n", value())
			}
			if r.Intn(2) == 0 {
				fmt.Fprintf(&m, "  rspfile = r.rsp\n  rspfile_content = %s\n", value())
			}
		}
		m.WriteString(bindings(""))
		for j := 0; j < 1+r.Intn(5); j++ {
			fmt.Fprintf(&m, "build o%d%s", j, path())
			for n := r.Intn(2); n > 0; n-- {
				m.WriteString(" o" + path())
			}
			if r.Intn(3) == 0 {
				fmt.Fprintf(&m, " | io%d%s", j, path())
			}
			m.WriteString(": " + pick(rules...))
			for n := r.Intn(3); n > 0; n-- {
				m.WriteString(" i" + path())
			}
			if r.Intn(3) == 0 {
				m.WriteString(" | i" + path())
			}
			if r.Intn(3) == 0 {
				m.WriteString(" || i" + path())
			}
			m.WriteString("\n" + bindings("  "))
			if r.Intn(4) == 0 {
				m.WriteString(bindings(""))
			}
		}
		if r.Intn(3) == 0 {
			m.WriteString("subninja sub.ninja\n")
		}
		manifest := m.String()
		sub := bindings("") + "rule s\n  command = : s " + value() + "\nbuild so" + path() + ": s si\nbuild so2: r0 si2\n"

		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{ManifestName: manifest, "sub.ninja": sub})
		compdb := exec.Command("ninja", "-t", "compdb")
		compdb.Dir = dir
		if out, err := compdb.CombinedOutput(); err != nil {
			// Ninja 1.11 also takes a rule variable used twice for a
			// cycle (fixed in 1.12); this package does not.
			if strings.Contains(string(out), "cycle in rule variables") {
				continue
			}
			if mf, err := loadManifest(dir, ManifestName); err == nil {
				t.Errorf("ninja rejects a manifest loadManifest accepts: %s\n%s\nedges: %d", out, manifest, len(mf.edges))
			}
			continue
		}
		accepted++
		cmds, err := Commands(t.Context(), dir)
		if err != nil {
			// ninja -t compdb evaluates no rspfile_content; a cycle
			// there stops ninja only when it builds the edge.
			if !strings.Contains(err.Error(), "cycle in rule variables") {
				t.Errorf("%v\n%s", err, manifest)
			}
			continue
		}

		// Build, with every input that no edge builds present. Output
		// paths with tabs or newlines cannot be logged faithfully.
		mf, err := loadManifest(dir, ManifestName)
		if err != nil {
			t.Fatal(err)
		}
		usable := true
		for _, e := range mf.edges {
			for _, o := range e.outs {
				usable = usable && !strings.ContainsAny(o, "\t\n")
			}
			for _, in := range e.ins {
				if mf.outputs[in] == nil {
					// Best effort: a path may also be needed as a directory.
					p := filepath.Join(dir, in)
					_ = os.MkdirAll(filepath.Dir(p), 0o755)
					_ = os.WriteFile(p, nil, 0o644)
				}
			}
		}
		if !usable {
			continue
		}
		build := exec.Command("ninja", "-k", "0")
		build.Dir = dir
		_ = build.Run() // commands may fail
		l, err := ReadFile(filepath.Join(dir, LogName))
		if errors.Is(err, fs.ErrNotExist) {
			continue // no edge ran
		} else if err != nil {
			t.Fatal(err)
		}
		for _, e := range l.Latest() {
			logged++
			if c, ok := cmds[e.Output]; !ok || HashCommand(c) != e.Hash {
				t.Errorf("log entry for %q: evaluated %q (known: %v), hash %x, ninja logged %x\n%s",
					e.Output, c, ok, HashCommand(c), e.Hash, manifest)
			}
		}
	}
	t.Logf("%d of %d manifests accepted by ninja, %d log entries checked", accepted, iterations, logged)
}
