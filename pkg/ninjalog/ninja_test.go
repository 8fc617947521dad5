package ninjalog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requireNinja skips the test when there is no ninja on $PATH.
func requireNinja(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ninja"); err != nil {
		t.Skip("ninja not on $PATH")
	}
}

// ninja runs ninja with args in dir and returns its combined output.
func ninja(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("ninja", append([]string{"-C", dir}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ninja %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// writeFiles creates the files of a name→content map under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkLogHashes requires every entry ninja uses in dir's log to carry
// HashCommand of its command in cmds, and returns how many there are.
func checkLogHashes(t *testing.T, logPath string, cmds map[string]string) int {
	t.Helper()
	l, err := ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	latest := l.Latest()
	for _, e := range latest {
		cmd, ok := cmds[e.Output]
		if !ok {
			t.Errorf("log entry for %q: no command", e.Output)
			continue
		}
		if got := HashCommand(cmd); got != e.Hash {
			t.Errorf("%q: HashCommand(%q) = %x, ninja logged %x", e.Output, cmd, got, e.Hash)
		}
	}
	return len(latest)
}

// TestHashCommandMatchesNinja runs commands of every length up to a few
// words (covering each tail length of MurmurHash64A) and with bytes
// beyond ASCII, and compares HashCommand with what ninja logs.
func TestHashCommandMatchesNinja(t *testing.T) {
	requireNinja(t)
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("rule run\n  command = $cmd\n")
	cmds := []string{"", ":"}
	for n := 2; n <= 40; n++ {
		cmds = append(cmds, ": "+strings.Repeat("x", n-2))
	}
	cmds = append(cmds, ": \u00e9\u4e16", ": \xff\xfe\x80", ": tab\there")
	for i, c := range cmds {
		// The implicit input makes ninja -t compdb list the edge, so
		// Commands compares the command with ninja's.
		fmt.Fprintf(&b, "build out%d: run | src\n  cmd = %s\n", i, strings.ReplaceAll(c, " ", "$ "))
	}
	writeFiles(t, dir, map[string]string{"build.ninja": b.String(), "src": ""})
	ninja(t, dir)

	l, err := ReadFile(filepath.Join(dir, LogName))
	if err != nil {
		t.Fatal(err)
	}
	if l.Version != 5 && l.Version != 6 {
		t.Fatalf("log version %d", l.Version)
	}
	if got := len(l.Latest()); got != len(cmds) {
		t.Fatalf("%d log entries, want %d", got, len(cmds))
	}
	for i, c := range cmds {
		e, ok := l.Lookup(fmt.Sprintf("out%d", i))
		if !ok {
			t.Errorf("no entry for out%d", i)
			continue
		}
		if got := HashCommand(c); got != e.Hash {
			t.Errorf("HashCommand(%q) = %x, ninja logged %x", c, got, e.Hash)
		}
	}
	got, err := Commands(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	checkLogHashes(t, filepath.Join(dir, LogName), got)
}

// TestCommandsAgreesWithNinja evaluates manifests using the parts of
// ninja's language that affect commands. Commands fails if its evaluation
// differs from ninja -t compdb for any edge with inputs; the expected
// strings cover what compdb cannot show (response files, edges without
// inputs, implicit outputs).
func TestCommandsAgreesWithNinja(t *testing.T) {
	requireNinja(t)
	tests := []struct {
		name  string
		files map[string]string
		want  map[string]string
	}{
		{
			name: "scopes",
			files: map[string]string{
				"build.ninja": `# top comment
flags = -a
rule r
  command = tool $flags $extra $in > $out
  description = R $out
extra = -late
build o1: r i1
build o2: r i2
  flags = -edge $flags
  extra = -edgeextra
include inc.ninja
subninja sub.ninja
build o5: r $
    i5a $
    i5b
flags = -final
`,
				"inc.ninja": "build o3: r i3\nflags = -inc\n",
				"sub.ninja": "flags = -sub\nrule s\n  command = sub $flags $in $out\nbuild o4: s i4\nbuild o6: r i6\n",
			},
			want: map[string]string{
				"o1": "tool -final -late i1 > o1",
				"o2": "tool -edge -a -edgeextra i2 > o2",
				"o3": "tool -final -late i3 > o3",
				"o4": "sub -sub i4 o4",
				"o5": "tool -final -late i5a i5b > o5",
				"o6": "tool -sub -late i6 > o6",
			},
		},
		{
			name: "paths and escapes",
			files: map[string]string{
				"build.ninja": "rule r\n  command = r $in -> $out $$HOME a$:b ${dotted.var}|x\n" +
					"dotted.var = D\n" +
					"build ./d/../o$ 1 sub//o'2 | imp: r ./in$ 1 x/./in'2 | implicit || order |@ valid\n" +
					"build valid: r\n" +
					"build o3: r /abs//x/../in3\r\n",
			},
			want: map[string]string{
				"o 1":     "r 'in 1' 'x/in'\\''2' -> 'o 1' 'sub/o'\\''2' $HOME a:b D|x",
				"sub/o'2": "r 'in 1' 'x/in'\\''2' -> 'o 1' 'sub/o'\\''2' $HOME a:b D|x",
				"imp":     "r 'in 1' 'x/in'\\''2' -> 'o 1' 'sub/o'\\''2' $HOME a:b D|x",
				"valid":   "r  -> valid $HOME a:b D|x",
				"o3":      "r /abs/in3 -> o3 $HOME a:b D|x",
			},
		},
		{
			name: "response files",
			files: map[string]string{
				"build.ninja": `rule link
  command = ld @$rspfile -o $out
  rspfile = $out.rsp
  rspfile_content = $in_newline $flags
rule empty
  command = ld $out
  rspfile = $out.rsp
  rspfile_content = $nothing
flags = -lm
build prog: link a.o b.o | dep
build prog2: link
build e: empty x
`,
			},
			want: map[string]string{
				"prog":  "ld @prog.rsp -o prog;rspfile=a.o\nb.o -lm",
				"prog2": "ld @prog2.rsp -o prog2;rspfile= -lm",
				"e":     "ld e",
			},
		},
		{
			name: "quirks",
			files: map[string]string{
				// A file-scope variable named like a rule binding
				// overrides the rule for edges without bindings of their
				// own; an edge with bindings sees the rule's.
				"build.ninja": `rule r
  command = r $description $out
  description = rule-desc
description = file-desc
build a: r x
build b: r x
  unrelated = 1
build p: phony a
build a2 b2: r x
rule rsp
  command = rsp
  rspfile = f
  rspfile_content = $in
build c: rsp x
  rspfile_content = [$in]
`,
			},
			want: map[string]string{
				"a":  "r file-desc a",
				"b":  "r rule-desc b",
				"a2": "r file-desc a2 b2",
				"b2": "r file-desc a2 b2",
				// Edge bindings are evaluated in the file scope, where
				// $in is empty.
				"c": "rsp;rspfile=[]",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			got, err := Commands(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			for out, want := range tt.want {
				if got[out] != want {
					t.Errorf("command for %q:\n got %q\nwant %q", out, got[out], want)
				}
			}
			if _, ok := got["p"]; ok {
				t.Errorf("phony output p in map")
			}
		})
	}
}

// TestCommandsDisagreement checks that Commands fails when ninja -t
// compdb shows another command than the evaluated one, using a fake
// ninja.
func TestCommandsDisagreement(t *testing.T) {
	dir, bin := t.TempDir(), t.TempDir()
	writeFiles(t, dir, map[string]string{"build.ninja": "rule r\n  command = r $in\nbuild a: r b\nbuild c: r\n"})
	tests := []struct{ name, compdb, want string }{
		{"agree", `[{"command": "r b", "output": "a"}]`, ""},
		{"other command", `[{"command": "r  b", "output": "a"}]`, `ninja has …"r  b"…, evaluated …"r b"… (at byte 2 of 4 and 3)`},
		{"missing edge", `[]`, `no edge for "a"`},
		{"extra edge", `[{"command": "r b", "output": "a"}, {"command": "r", "output": "c"}]`, `ninja lists an edge for "c"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			script := "#!/bin/sh\nprintf '%s\\n' '" + tt.compdb + "'\n"
			if err := os.WriteFile(filepath.Join(bin, "ninja"), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			t.Setenv("PATH", bin)
			_, err := Commands(context.Background(), dir)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Commands: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Commands: err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestUnquoteJSON(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"plain"`, "plain"},
		{`"a\\b\"c\/d\n\t\r\b\f"`, "a\\b\"c/d\n\t\r\b\f"},
		{`"\u0001\u001f\u00e9"`, "\x01\x1f\u00e9"},
		{"\"raw \xff bytes\"", "raw \xff bytes"},
	}
	for _, tt := range tests {
		got, err := unquoteJSON([]byte(tt.in))
		if err != nil || got != tt.want {
			t.Errorf("unquoteJSON(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{``, `"`, `x`, `"\"`, `"\u12"`, `"\q"`} {
		if _, err := unquoteJSON([]byte(bad)); err == nil {
			t.Errorf("unquoteJSON(%q) succeeded", bad)
		}
	}
}

func TestCommandsCanceled(t *testing.T) {
	requireNinja(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"build.ninja": "rule r\n  command = r\nbuild a: r\n"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Commands(ctx, dir); !errors.Is(err, context.Canceled) {
		t.Fatalf("Commands with a canceled context: err = %v", err)
	}
}

func TestCommandsNinjaMissing(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"build.ninja": "rule r\n  command = r\nbuild a: r\n"})
	t.Setenv("PATH", t.TempDir())
	if _, err := Commands(context.Background(), dir); !errors.Is(err, ErrNinjaNotFound) {
		t.Fatalf("Commands without ninja: err = %v, want ErrNinjaNotFound", err)
	}
	if _, err := Fix(context.Background(), dir); !errors.Is(err, ErrNinjaNotFound) {
		t.Fatalf("Fix without ninja: err = %v, want ErrNinjaNotFound", err)
	}
}

// fixManifest is a small build in the shape nix-vanilla restores: command
// lines and response files mention a store-like path that the restore
// rewrites to another of the same length.
const fixManifest = `tools = /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-tools
rule copy
  command = cp $in $out && : $tools/bin/cp
rule two
  command = sh -c 'cp $$1 $$2 && cp $$1 $$3 && cp $$1 b3.out' sh $in $out $tools
rule gen
  command = echo generated $tools > $out
rule link
  command = sh -c 'for f in $$(cat $rspfile); do if test -f $$f; then cat $$f; fi; done > $out' $tools
  rspfile = $out.rsp
  rspfile_content = $in_newline $tools/lib
  description = LINK $out
rule cat
  command = cat $in > $out
rule dyn
  command = touch $out d.imp && : $tools
rule mkdd
  command = printf 'ninja_dyndep_version = 1\nbuild d.out | d.imp: dyndep\n' > $out
build a.out: copy a.in
build b1.out b2.out | b3.out: two b.in
build gen.out: gen
build l.out: link a.out b1.out gen.out
build all.out: cat l.out b3.out
build d.dd: mkdd
build d.out: dyn || d.dd
  dyndep = d.dd
subninja sub.ninja
`

// fixSubManifest mentions the store path only in a description, which
// is not part of the logged command.
const fixSubManifest = `rule subcopy
  command = cp $in $out
  description = COPY $out /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-tools
build s.out: subcopy a.in
`

func TestFix(t *testing.T) {
	requireNinja(t)
	ctx := context.Background()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"build.ninja": fixManifest,
		"sub.ninja":   fixSubManifest,
		"a.in":        "a\n",
		"b.in":        "b\n",
	})
	ninja(t, dir)
	if out := ninja(t, dir, "-n"); !strings.Contains(out, "no work to do") {
		t.Fatalf("second ninja -n has work:\n%s", out)
	}

	logPath := filepath.Join(dir, LogName)
	cmds, err := Commands(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	// d.imp is an output only the dyndep file declares.
	if _, ok := cmds["d.imp"]; ok {
		t.Errorf("Commands knows the dyndep output d.imp")
	}
	cmds["d.imp"] = cmds["d.out"]
	if n := checkLogHashes(t, logPath, cmds); n != 11 {
		t.Errorf("%d log entries, want 11", n)
	}
	if want := ";rspfile=a.out\nb1.out\ngen.out /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-tools/lib"; !strings.HasSuffix(cmds["l.out"], want) {
		t.Errorf("l.out command %q does not end in %q", cmds["l.out"], want)
	}
	for _, o := range []string{"b1.out", "b2.out", "b3.out"} {
		if cmds[o] != cmds["b1.out"] {
			t.Errorf("outputs of one edge have different commands: %q, %q", cmds[o], cmds["b1.out"])
		}
	}

	// Rewrite the store path in the manifests as the restore does,
	// keeping their mtimes.
	for _, name := range []string{"build.ninja", "sub.ninja"} {
		rewriteKeepMtime(t, filepath.Join(dir, name),
			"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-", "/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-")
	}
	if out := ninja(t, dir, "-n"); strings.Contains(out, "no work to do") {
		t.Fatalf("ninja -n after the rewrite has nothing to do:\n%s", out)
	}

	logInfo, err := os.Stat(logPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Fix(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	// all.out, d.dd and s.out keep their hashes: their commands do not
	// mention the store path. d.imp's command is inferred from d.out's.
	if st.Changed != 8 || st.Unchanged != 3 || st.Inferred != 1 || len(st.Untouched) != 0 {
		t.Errorf("Fix stats = %+v, want 8 changed, 3 unchanged, 1 inferred", st)
	}
	if out := ninja(t, dir, "-n"); !strings.Contains(out, "ninja: no work to do.") {
		t.Errorf("ninja -n after Fix has work:\n%s\n%s", out, ninja(t, dir, "-n", "-d", "explain"))
	}
	after, err := os.Stat(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !after.ModTime().Equal(logInfo.ModTime()) || after.Mode() != logInfo.Mode() {
		t.Errorf("log mtime/mode %v %v, want %v %v", after.ModTime(), after.Mode(), logInfo.ModTime(), logInfo.Mode())
	}

	// Fixing again changes nothing.
	st, err = Fix(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Changed != 0 || st.Unchanged != 11 {
		t.Errorf("second Fix stats = %+v, want 11 unchanged", st)
	}
}

// rewriteKeepMtime replaces old with new in the file at path and then
// restores the file's modification time.
func rewriteKeepMtime(t *testing.T, path, old, new string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(old) != len(new) {
		t.Fatalf("replacement changes length")
	}
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(data), old, new)), fi.Mode()); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, time.Time{}, fi.ModTime()); err != nil {
		t.Fatal(err)
	}
}
