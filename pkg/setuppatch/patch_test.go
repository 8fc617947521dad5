package setuppatch_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nix-vanilla/nix-vanilla/pkg/setuppatch"
)

// nixpkgsSetup returns nixpkgs' own setup.sh, from <nixpkgs> (as
// nix-instantiate finds it) or root's channel. Without one the test is
// skipped, except in CI (CI set), where that is a failure.
func nixpkgsSetup(t *testing.T) (string, []byte) {
	t.Helper()
	var roots []string
	if out, err := exec.Command("nix-instantiate", "--find-file", "nixpkgs").Output(); err == nil {
		roots = append(roots, strings.TrimSpace(string(out)))
	}
	roots = append(roots, "/nix/var/nix/profiles/per-user/root/channels/nixpkgs")
	for _, r := range roots {
		p := filepath.Join(r, "pkgs/stdenv/generic/setup.sh")
		if src, err := os.ReadFile(p); err == nil {
			return p, src
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("no nixpkgs setup.sh under %v (CI must have <nixpkgs>)", roots)
	}
	t.Skipf("no nixpkgs setup.sh under %v", roots)
	return "", nil
}

// TestRealSetup patches nixpkgs' setup.sh: the result parses, bash -n
// accepts it, it differs from the original only inside genericBuild's
// loop, and patching it again changes nothing.
func TestRealSetup(t *testing.T) {
	name, src := nixpkgsSetup(t)
	out, err := setuppatch.Patch(name, src)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(out, src) {
		t.Fatal("the patch changed nothing")
	}
	if patched, err := setuppatch.IsPatched(name, src); err != nil || patched {
		t.Errorf("IsPatched(stock) = %v, %v; want false", patched, err)
	}
	if patched, err := setuppatch.IsPatched(name, out); err != nil || !patched {
		t.Errorf("IsPatched(patched) = %v, %v; want true", patched, err)
	}
	again, err := setuppatch.Patch(name, out)
	if err != nil || !bytes.Equal(again, out) {
		t.Errorf("patching the patched script: err %v, changed %v", err, !bytes.Equal(again, out))
	}
	// Every byte outside the loop body is the original's.
	loop := []byte("    for curPhase in ${phases[*]}; do\n")
	i := bytes.Index(src, loop)
	if i < 0 || bytes.Index(out, loop) != i {
		t.Fatalf("the loop moved or is gone")
	}
	bodyStart := i + len(loop)
	tail := src[bytes.Index(src[bodyStart:], []byte("\n    done\n"))+bodyStart:]
	if !bytes.Equal(out[:bodyStart], src[:bodyStart]) || !bytes.HasSuffix(out, tail) {
		t.Errorf("bytes outside the loop body changed")
	}
	bashN(t, out)
}

func bashN(t *testing.T, script []byte) {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	cmd := exec.Command(bash, "-n")
	cmd.Stdin = bytes.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("bash -n: %v\n%s", err, out)
	}
}

// fakeDerivation runs genericBuild of the setup script at setup in bash,
// as a builder would, with the derivation's variables and functions
// (shell text) set before sourcing it. It returns what the build printed,
// its exit status, and the shell variables it left (dumped by an exit
// trap), with the build's directory written $TOP.
func fakeDerivation(t *testing.T, setup, drv string) (string, int, string) {
	t.Helper()
	top := t.TempDir()
	script := `set -eu
export out="$PWD/out" NIX_BUILD_TOP="$PWD" TMPDIR="$PWD" HOME=/homeless NIX_LOG_FD= NIX_BUILD_CORES=1 name=fake
export SHELL=/bin/bash
initialPath=/usr defaultNativeBuildInputs= defaultBuildInputs=
` + drv + `
source "$1"
trap 'declare -p >"$NIX_BUILD_TOP/.vars"' EXIT
genericBuild
`
	cmd := exec.Command("bash", "-c", script, "bash", setup)
	cmd.Dir = top
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	status := 0
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("running the fake derivation: %v\n%s", err, b.String())
		}
		status = exit.ExitCode()
	}
	vars, err := os.ReadFile(filepath.Join(top, ".vars"))
	if err != nil {
		t.Fatalf("no variables: %v\n%s", err, b.String())
	}
	var kept []string
	for _, l := range strings.Split(string(vars), "\n") {
		if !volatile.MatchString(l) {
			kept = append(kept, l)
		}
	}
	// The patch moves the lines after it: bash's messages name lines.
	clean := func(s string) string {
		s = strings.ReplaceAll(strings.ReplaceAll(s, top, "$TOP"), setup, "$SETUP")
		return setupLine.ReplaceAllString(s, "$$SETUP: line N:")
	}
	return clean(b.String()), status, clean(strings.Join(kept, "\n"))
}

var setupLine = regexp.MustCompile(`\$SETUP: line [0-9]+:`)

// volatile matches the variables bash changes by itself.
var volatile = regexp.MustCompile(`^declare -[-a-zA-Z]* (BASH[A-Z_]*|EPOCH[A-Z]*|S?RANDOM|SECONDS|LINENO|PPID|SHLVL|_|PIPESTATUS|FUNCNAME|GROUPS|HISTCMD)=`)

// derivations are fake derivations for the stock and patched scripts:
// the default phase list with stdenv's switches, custom phases as
// variables and functions, hooks, a failing phase.
var derivations = map[string]string{
	"default phases": `dontUnpack=1; dontConfigure=1; buildPhase='echo building; runHook postBuild'
postBuild='echo post build'; installPhase='mkdir -p $out; echo installing'; dontFixup=1`,
	"custom phases": `phases="onePhase unpackPhase twoPhase checkPhase threePhase"; dontUnpack=1; doCheck=1
onePhase() { echo "in one $curPhase"; }; twoPhase='echo in two; runHook postTwo'; postTwo() { echo post two; }
checkPhase='echo checking; x=1'; threePhase='echo three; cd /'`,
	"failing phase":     `phases="onePhase twoPhase threePhase"; onePhase() { echo one; }; twoPhase='echo two; false'; threePhase='echo three'`,
	"structured phases": `phases=(onePhase twoPhase); onePhase() { echo one; }; twoPhase() { echo two "$curPhase"; }`,
}

// TestBehaviourUnchanged runs fake derivations with the stock and the
// patched genericBuild: without hooks, what they print, their status and
// the variables they leave are the same.
func TestBehaviourUnchanged(t *testing.T) {
	name, src := nixpkgsSetup(t)
	out, err := setuppatch.Patch(name, src)
	if err != nil {
		t.Fatal(err)
	}
	patched := filepath.Join(t.TempDir(), "setup.sh")
	if err := os.WriteFile(patched, out, 0o644); err != nil {
		t.Fatal(err)
	}
	for what, drv := range derivations {
		t.Run(what, func(t *testing.T) {
			stockLog, stockStatus, stockVars := fakeDerivation(t, name, drv)
			patchedLog, patchedStatus, patchedVars := fakeDerivation(t, patched, drv)
			if !strings.Contains(stockLog, "Running phase:") {
				t.Fatalf("the stock build ran no phase:\n%s", stockLog)
			}
			if stockLog != patchedLog || stockStatus != patchedStatus {
				t.Errorf("stock build (status %d):\n%s\npatched build (status %d):\n%s", stockStatus, stockLog, patchedStatus, patchedLog)
			}
			if stockVars != patchedVars {
				t.Errorf("the variables differ:\nstock:\n%s\npatched:\n%s", stockVars, patchedVars)
			}
		})
	}
}

// TestHookPoints runs the patched genericBuild with hooks at the points:
// before each phase with its name, after each phase that ran, and a phase
// skipped when a before hook sets skipPhase.
func TestHookPoints(t *testing.T) {
	name, src := nixpkgsSetup(t)
	out, err := setuppatch.Patch(name, src)
	if err != nil {
		t.Fatal(err)
	}
	patched := filepath.Join(t.TempDir(), "setup.sh")
	if err := os.WriteFile(patched, out, 0o644); err != nil {
		t.Fatal(err)
	}
	log, status, _ := fakeDerivation(t, patched, `phases="onePhase twoPhase threePhase"
onePhase() { echo one; }; twoPhase() { echo two; }; threePhase() { echo three; }
before() { echo "before $1"; [[ $1 != twoPhase ]] || skipPhase=1; }
after() { echo "after $1 skip=${skipPhase-unset}"; }
beforePhaseHooks=(before); afterPhaseHooks+=(after)
afterPhase='echo "after (attribute) $curPhase"'`)
	want := `before onePhase
Running phase: onePhase
one
after (attribute) onePhase
after onePhase skip=unset
before twoPhase
before threePhase
Running phase: threePhase
three
after (attribute) threePhase
after threePhase skip=unset
`
	if status != 0 || log != want {
		t.Errorf("got:\n%s\nwant:\n%s", log, want)
	}

	// A hook that fails fails the build, as a failing phase does.
	log, status, _ = fakeDerivation(t, patched, `phases="onePhase twoPhase"
onePhase() { echo one; }; twoPhase() { echo two; }
after() { echo "after $1"; return 3; }; afterPhaseHooks=(after)`)
	if want := "Running phase: onePhase\none\nafter onePhase\n"; status == 0 || log != want {
		t.Errorf("a failing afterPhase hook: status %d, log:\n%s\nwant a failure after:\n%s", status, log, want)
	}
}

// TestRefused gives Patch scripts of other shapes: each is refused with a
// *ShapeError that names what was expected.
func TestRefused(t *testing.T) {
	for _, tt := range []struct{ name, script, want string }{
		{"no genericBuild", "runPhase() { :; }\n", "expected a function genericBuild defined at the top level"},
		{"twice", "genericBuild() {\n    for curPhase in $phases; do\n        runPhase \"$curPhase\"\n    done\n}\ngenericBuild() { :; }\n",
			"6:1: not a setup.sh this patch knows: expected genericBuild defined once, found a second definition"},
		{"nested", "if true; then\n    genericBuild() { :; }\nfi\n", "expected a function genericBuild defined at the top level"},
		{"subshell body", "genericBuild() (\n    :\n)\n", "expected genericBuild's body in braces"},
		{"no loop", "genericBuild() {\n    for p in $phases; do\n        runPhase \"$p\"\n    done\n}\n",
			"expected a loop `for curPhase in ${phases[*]}; do …; done` in genericBuild's body"},
		{"two loops", "genericBuild() {\n    for curPhase in a; do\n        runPhase \"$curPhase\"\n    done\n    for curPhase in b; do :; done\n}\n",
			"5:5: not a setup.sh this patch knows: expected one loop"},
		{"another body", "genericBuild() {\n    for curPhase in $phases; do\n        echo \"$curPhase\"\n        runPhase \"$curPhase\"\n    done\n}\n",
			"3:9: not a setup.sh this patch knows: expected the loop body `runPhase \"$curPhase\"` (or this patch's hook points around it), found `echo \"$curPhase\"; runPhase \"$curPhase\"`"},
		{"old setup.sh", "genericBuild() {\n    for curPhase in $phases; do\n        if [ \"$curPhase\" = buildPhase -a -n \"$dontBuild\" ]; then continue; fi\n        eval \"${!curPhase:-$curPhase}\"\n    done\n}\n",
			"expected the loop body `runPhase \"$curPhase\"`"},
		{"partly patched", "genericBuild() {\n    for curPhase in $phases; do\n        runHook beforePhase \"$curPhase\"\n        runPhase \"$curPhase\"\n    done\n}\n",
			"found `runHook beforePhase \"$curPhase\"; runPhase \"$curPhase\"`"},
		{"one line", "genericBuild() {\n    for curPhase in $phases; do runPhase \"$curPhase\"; done\n}\n",
			"2:33: not a setup.sh this patch knows: expected the loop body on a line of its own"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := setuppatch.Patch("setup.sh", []byte(tt.script))
			if err == nil || !setuppatch.IsShapeError(err) {
				t.Fatalf("Patch: %v, want a shape error", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "setup.sh") {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
		})
	}
	if _, err := setuppatch.Patch("setup.sh", []byte("genericBuild() {\n")); err == nil || setuppatch.IsShapeError(err) {
		t.Errorf("a script that does not parse: %v, want the parser's error", err)
	}
}

// TestIndentation keeps the file's own indentation (tabs here) and the
// comments and blank lines around the loop.
func TestIndentation(t *testing.T) {
	src := "genericBuild() {\n\t# phases\n\tfor curPhase in ${phases[*]}; do\n\t\t# run it\n\t\trunPhase \"$curPhase\"\n\n\tdone\n}\n"
	out, err := setuppatch.Patch("setup.sh", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := "genericBuild() {\n\t# phases\n\tfor curPhase in ${phases[*]}; do\n\t\t# run it\n" +
		"\t\t# Setup hooks can act between the phases, to save a checkpoint of the\n" +
		"\t\t# build or to resume one: runHook passes them the phase's name\n" +
		"\t\t# (beforePhaseHooks+=(f), afterPhaseHooks+=(f)), and a beforePhase\n" +
		"\t\t# hook that sets skipPhase=1 skips the phase; afterPhase follows only\n" +
		"\t\t# a phase that ran.\n" +
		"\t\trunHook beforePhase \"$curPhase\"\n\t\tif [ -z \"${skipPhase:-}\" ]; then\n" +
		"\t\t\trunPhase \"$curPhase\"\n\t\t\trunHook afterPhase \"$curPhase\"\n\t\tfi\n\t\tunset -v skipPhase\n\n\tdone\n}\n"
	if string(out) != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
	again, err := setuppatch.Patch("setup.sh", out)
	if err != nil || !bytes.Equal(again, out) {
		t.Errorf("not idempotent: %v", err)
	}
	bashN(t, out)
}

// FuzzPatch: whatever Patch accepts, it returns a script that parses,
// that it recognises as patched and that it leaves as it is.
func FuzzPatch(f *testing.F) {
	f.Add("genericBuild() {\n    for curPhase in ${phases[*]}; do\n        runPhase \"$curPhase\"\n    done\n}\n")
	f.Add("x=1\ngenericBuild() {\n  export A=1\n  for curPhase in $phases; do\n    runPhase \"$curPhase\" ;\n  done\n}\nrunHook postHook\n")
	f.Fuzz(func(t *testing.T, src string) {
		out, err := setuppatch.Patch("f", []byte(src))
		if err != nil {
			return
		}
		if ok, err := setuppatch.IsPatched("f", out); err != nil || !ok {
			t.Fatalf("the patched script is not recognised: %v\n%s", err, out)
		}
		again, err := setuppatch.Patch("f", out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %v", err)
		}
	})
}
