package shellstate

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func requireBash(t testing.TB) string {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not found")
	}
	return bash
}

// dump runs script in bash, in a temporary directory, and returns the
// state it leaves, recorded by the setup hook's own function.
func dump(t testing.TB, script string) *State {
	t.Helper()
	bash := requireBash(t)
	dir := t.TempDir()
	full := "source ../../hooks/vanilla-hook.sh\ncd \"$STATE\"\n" + script + `
_vanillaDumpState "$STATE"
`
	cmd := exec.Command(bash, "-c", full)
	cmd.Env = []string{"STATE=" + dir, "PATH=" + os.Getenv("PATH")}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	s, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParseVars(t *testing.T) {
	s := dump(t, `
declare -A assoc=([k]=v ["a b"]='c"d' [$'x\ny']=z)
declare -a arr=(a "b c"); arr[7]=q
declare -i n=5
declare -x e='a$b`+"`"+`c'
nl=$'l1\nl2\t'
declare -- declared
declare -n ref=e
empty=
`)
	tests := []struct {
		name string
		want Var
	}{
		{"assoc", Var{Name: "assoc", Flags: "A", Kind: Associative, Set: true}},
		{"arr", Var{Name: "arr", Flags: "a", Kind: Indexed, Set: true, Elems: []Elem{{"0", "a"}, {"1", "b c"}, {"7", "q"}}}},
		{"n", Var{Name: "n", Flags: "i", Set: true, Value: "5"}},
		{"e", Var{Name: "e", Flags: "x", Set: true, Value: "a$b`c"}},
		{"nl", Var{Name: "nl", Set: true, Value: "l1\nl2\t"}},
		{"declared", Var{Name: "declared"}},
		{"ref", Var{Name: "ref", Flags: "n", Set: true, Value: "e"}},
		{"empty", Var{Name: "empty", Set: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.Vars[tt.name]
			if got == nil {
				t.Fatalf("%s not found", tt.name)
			}
			if tt.name == "assoc" {
				vals := map[string]string{}
				for _, e := range got.Elems {
					vals[e.Key] = e.Value
				}
				want := map[string]string{"k": "v", "a b": `c"d`, "x\ny": "z"}
				for k, v := range want {
					if vals[k] != v {
						t.Errorf("assoc[%q] = %q, want %q", k, vals[k], v)
					}
				}
				return
			}
			if !got.Equal(&tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseFuncsAndOptions(t *testing.T) {
	s := dump(t, `
f() { echo "$1" | while read -r x; do :; done; }
g() { local a=(1 2); echo "${a[@]}"; }
shopt -s nullglob
set -o pipefail
umask 0027
h() { :; }
export -f h
readonly -f g
`)
	if !strings.HasSuffix(s.Funcs["h"], "}\ndeclare -fx h") || strings.Contains(s.Funcs["g"], "declare") {
		t.Errorf("exported h = %q, readonly g = %q", s.Funcs["h"], s.Funcs["g"])
	}
	if !strings.Contains(s.Funcs["f"], "while read -r x") || !strings.HasPrefix(s.Funcs["g"], "g() {") {
		t.Errorf("functions: %q", s.Funcs)
	}
	if s.Options["shopt nullglob"] != "shopt -s nullglob" || s.Options["set pipefail"] != "set -o pipefail" || s.Options["umask"] != "umask 0027" {
		t.Errorf("options: %v", s.Options)
	}
}

// TestDeclareRoundTrip renders every variable of a state and reads it back
// through bash: the values must come back identical.
func TestDeclareRoundTrip(t *testing.T) {
	s := dump(t, `
declare -A assoc=([k]=v ["a b"]='c"d' [$'x\ny']=z ['$(x)']='`+"`"+`y`+"`"+`')
declare -a arr=(a "b c" $'\e[1m' '\'); arr[7]=q
declare -ix n=5
weird=$'\x01\x7f \\ "\' $HOME'
unicode='héllo wörld'
declare -- declared
`)
	var script strings.Builder
	for _, name := range []string{"assoc", "arr", "n", "weird", "unicode", "declared"} {
		decl, err := s.Vars[name].Declare()
		if err != nil {
			t.Fatal(err)
		}
		script.WriteString(decl + "\n")
	}
	again := dump(t, "f() {\n"+script.String()+"}\nf")
	for _, name := range []string{"assoc", "arr", "n", "weird", "unicode", "declared"} {
		got, want := again.Vars[name], s.Vars[name]
		if name == "assoc" {
			if len(got.Elems) != len(want.Elems) {
				t.Errorf("assoc: %v, want %v", got.Elems, want.Elems)
			}
			continue
		}
		if !got.Equal(want) {
			t.Errorf("%s: got %+v, want %+v", name, got, want)
		}
	}
}

func TestMerge(t *testing.T) {
	setup := `
out=/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x
PATH=/early/bin:/usr/bin:/bin
keep=same
gone=here
helper() { echo early; }
gonefunc() { :; }
`
	before := dump(t, setup)
	after := dump(t, setup+`
makeFlagsArray+=("PREFIX=$out" "two words")
PATH=/build/tools:$PATH
keep=same
unset gone
unset -f gonefunc
helper() { echo "changed $out"; }
defined() { :; }
shopt -s nullglob
umask 0027
declare -r frozen=early
exported() { echo "$out"; }
export -f exported
mkdir -p sub && cd sub
`)
	fresh := dump(t, `
out=/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-x
PATH=/early/bin:/check/bin:/usr/bin:/bin
keep=same
gone=here
helper() { echo early; }
gonefunc() { :; }
`)
	rewrite := strings.NewReplacer(
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		filepath.Dir(after.Dir), fresh.Dir,
	).Replace
	m, err := Merge(before, after, fresh, MergeOptions{
		Owned:   func(name string) bool { return name == "out" || name == "STATE" },
		Rewrite: rewrite,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(fresh.Dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	got := dump(t, `
out=/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-x
PATH=/early/bin:/check/bin:/usr/bin:/bin
gone=here
gonefunc() { :; }
cd `+fresh.Dir+`
restore() {
`+m.Script+`
}
restore
`)
	checks := []struct{ name, got, want string }{
		{"makeFlagsArray", strings.Join(elemValues(got.Vars["makeFlagsArray"]), "|"), "PREFIX=/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-x|two words"},
		{"PATH", got.Vars["PATH"].Value, "/build/tools:/early/bin:/check/bin:/usr/bin:/bin"},
		{"out", got.Vars["out"].Value, "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-x"},
		{"helper", got.Funcs["helper"], "helper() {\n\techo \"changed $out\"\n}"},
		{"nullglob", got.Options["shopt nullglob"], "shopt -s nullglob"},
		{"umask", got.Options["umask"], "umask 0027"},
		{"frozen", got.Vars["frozen"].Value + " " + got.Vars["frozen"].Flags, "early r"},
		{"exported", got.Funcs["exported"], "exported() {\n\techo \"$out\"\n}\ndeclare -fx exported"},
		{"cwd", got.Dir, filepath.Join(fresh.Dir, "sub")},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if _, ok := got.Vars["gone"]; ok {
		t.Errorf("gone is still set")
	}
	if _, ok := got.Funcs["gonefunc"]; ok {
		t.Errorf("gonefunc is still defined")
	}
	if !slices.Equal(m.Unset, []string{"gone"}) || !slices.Equal(m.UnsetFuncs, []string{"gonefunc"}) {
		t.Errorf("Unset = %q, UnsetFuncs = %q; want [gone] and [gonefunc]", m.Unset, m.UnsetFuncs)
	}
	if _, ok := got.Funcs["defined"]; !ok {
		t.Errorf("function defined by the early phases is missing")
	}
	if len(m.Conflicts) != 0 {
		t.Errorf("conflicts: %v", m.Conflicts)
	}
}

func elemValues(v *Var) []string {
	if v == nil {
		return nil
	}
	var vals []string
	for _, e := range v.Elems {
		vals = append(vals, e.Value)
	}
	return vals
}

// TestTrapsNotReplayed shows a limit (docs/design.md): a trap or a
// resource limit an early phase sets is not part of the state, so the
// replay script does not set it again.
func TestTrapsNotReplayed(t *testing.T) {
	before := dump(t, "")
	after := dump(t, "trap 'echo cleanup' USR1\nulimit -n 512\n")
	m, err := Merge(before, after, before, MergeOptions{Owned: func(name string) bool { return name == "STATE" }})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.Script, "trap") || strings.Contains(m.Script, "ulimit") {
		t.Errorf("the replay sets a trap or limit now; update docs/design.md's Limits:\n%s", m.Script)
	}
}

// TestWholesaleRewrite replays an early phase that rewrote PATH as a
// whole, where the later stage's setup added a late input's directory.
// Sorting it kept every directory: the early order wins with the new
// directory first, and a warning (Reordered); it used to drop the late
// directory. When the early value was sorted already, nothing is
// replayed and the late directory stays first, where the plain build
// would have sorted it in: a limit (docs/design.md). A new value that
// dropped the old directories wins as it is (Conflicts), as in the plain
// build.
func TestWholesaleRewrite(t *testing.T) {
	sortPath := "PATH=$(printf '%s' \"$PATH\" | tr ':' '\\n' | sort -u | paste -sd: -)"
	for _, tt := range []struct {
		name, before, phase, want string
		reordered, conflicts      []string
	}{
		{"sorted already (limit)", "/bin:/usr/bin", sortPath, "/late/bin:/bin:/usr/bin", nil, nil},
		{"sorted", "/usr/bin:/bin", sortPath, "/late/bin:/bin:/usr/bin", []string{"PATH"}, nil},
		{"replaced", "/usr/bin:/bin", "PATH=/usr/bin:/opt/x", "/usr/bin:/opt/x", nil, []string{"PATH"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := dump(t, "PATH="+tt.before+"\n")
			after := dump(t, "PATH="+tt.before+"\n"+tt.phase+"\n")
			fresh := "PATH=/late/bin:" + tt.before + "\n"
			m, err := Merge(before, after, dump(t, fresh), MergeOptions{Owned: func(name string) bool { return name == "STATE" }})
			if err != nil {
				t.Fatal(err)
			}
			got := dump(t, fresh+"restore() {\n"+m.Script+"\n}\nrestore\n")
			if p := got.Vars["PATH"].Value; p != tt.want {
				t.Errorf("PATH = %q, want %q", p, tt.want)
			}
			if !slices.Equal(m.Reordered, tt.reordered) || !slices.Equal(m.Conflicts, tt.conflicts) {
				t.Errorf("Reordered %q, Conflicts %q; want %q and %q", m.Reordered, m.Conflicts, tt.reordered, tt.conflicts)
			}
		})
	}
}

func TestMergeLateAttribute(t *testing.T) {
	before := dump(t, `keep=1`)
	after := dump(t, `keep=1
installFlags+=" EXTRA=1"
checkFlagsArray+=(-j1)
postInstall='set by an early phase'
`)
	fresh := dump(t, `keep=1
installFlags="DESTDIR=x"
checkFlagsArray=(a)
postInstall='the attribute'
`)
	late := func(name string) bool {
		return name == "installFlags" || name == "checkFlagsArray" || name == "postInstall"
	}
	m, err := Merge(before, after, fresh, MergeOptions{Late: late, Owned: func(name string) bool { return name == "STATE" }})
	if err != nil {
		t.Fatal(err)
	}
	got := dump(t, `installFlags="DESTDIR=x"; checkFlagsArray=(a); postInstall='the attribute'
restore() {
`+m.Script+`
}
restore`)
	if v := got.Vars["installFlags"].Value; v != "DESTDIR=x EXTRA=1" {
		t.Errorf("installFlags = %q", v)
	}
	if v := strings.Join(elemValues(got.Vars["checkFlagsArray"]), " "); v != "a -j1" {
		t.Errorf("checkFlagsArray = %q", v)
	}
	if v := got.Vars["postInstall"].Value; v != "the attribute" {
		t.Errorf("postInstall = %q", v)
	}
	if strings.Join(m.Conflicts, ",") != "postInstall" {
		t.Errorf("conflicts = %v", m.Conflicts)
	}
}

// pushd in preBuild and popd in postBuild: the stack crosses stages.
func TestMergeDirectoryStack(t *testing.T) {
	base := t.TempDir()
	for _, d := range []string{"a", "b", "c"} {
		if err := os.Mkdir(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	before := dump(t, `cd `+base)
	after := dump(t, `cd `+base+`; pushd a >/dev/null; pushd ../b >/dev/null; pushd "$OLDPWD" >/dev/null`)
	fresh := dump(t, `cd `+base+`/c`)
	m, err := Merge(before, after, fresh, MergeOptions{Owned: func(name string) bool { return name == "STATE" }})
	if err != nil {
		t.Fatal(err)
	}
	got := dump(t, `restore() {
`+m.Script+`
}
restore
popd >/dev/null; popd >/dev/null; echo "$PWD" >"$STATE/popped"
`)
	want := []string{base + "/a", base + "/b", base + "/a", base}
	if s := strings.Join(elemValues(got.Vars["DIRSTACK"]), " "); s != strings.Join(want[2:], " ") {
		t.Errorf("after two popd, DIRSTACK = %q, want %q", s, strings.Join(want[2:], " "))
	}
	if s := strings.Join(elemValues(after.Vars["DIRSTACK"]), " "); s != strings.Join(want, " ") {
		t.Errorf("recorded DIRSTACK = %q, want %q", s, strings.Join(want, " "))
	}
}

// The state is untrusted: option names join a command, so only names are
// accepted; a function is kept only as one definition, printed from its
// syntax tree.
func TestParseRefusesCode(t *testing.T) {
	for _, opts := range []string{"shopt -s 'nullglob; touch x'\n", "set -o '$(touch x)'\n"} {
		if _, err := ParseOptions([]byte(opts), "opts.sh"); err == nil || !strings.Contains(err.Error(), "not an option name") {
			t.Errorf("ParseOptions(%q) = %v", opts, err)
		}
	}
	for _, opts := range []string{"umask '0022; touch x'\n", "umask 9\n", "umask 00022\n", "touch 0022\n"} {
		if _, err := ParseOptions([]byte(opts), "opts.sh"); err == nil || !strings.Contains(err.Error(), "not an option command") {
			t.Errorf("ParseOptions(%q) = %v", opts, err)
		}
	}
	for _, funcs := range []string{"f() { :; } &\n", "touch x\n", "'f;x'() { :; }\n", "declare -fx f\n", "f() { :; }\ndeclare -fxq f\n", "f() { :; }\ndeclare -fx 'f;x'\n", "f() { :; }\ndeclare -fx f=1\n"} {
		if _, err := ParseFuncs([]byte(funcs), "funcs.sh"); err == nil {
			t.Errorf("ParseFuncs(%q) accepted it", funcs)
		}
	}
	f, err := ParseFuncs([]byte("g ()\n{\n    echo   a;   echo b\n}\n"), "funcs.sh")
	if err != nil {
		t.Fatal(err)
	}
	if f["g"] != "g() {\n\techo a\n\techo b\n}" {
		t.Errorf("g = %q", f["g"])
	}
}

func TestParseAssocRefuses(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"other command", "echo A x k v\n"},
		{"odd words", "vanillaAssoc A x k\n"},
		{"expansion", "vanillaAssoc A x k $HOME\n"},
		{"command substitution", "vanillaAssoc A x k $(id)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseAssoc([]byte(tc.in), "assoc.sh"); err == nil {
				t.Errorf("ParseAssoc(%q) succeeded", tc.in)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Scalar: "Scalar", Indexed: "Indexed", Associative: "Associative", Kind(7): "Kind(7)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}
