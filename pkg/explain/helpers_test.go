package explain

import (
	"crypto/sha256"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/nix-vanilla/nix-vanilla/pkg/derivation"
)

// store holds derivations made up for tests, by path.
type store map[string]*derivation.Derivation

func (s store) read(p string) (*derivation.Derivation, error) {
	d, ok := s[p]
	if !ok {
		return nil, &os.PathError{Op: "open", Path: p, Err: os.ErrNotExist}
	}
	return d, nil
}

const alphabet = "0123456789abcdfghijklmnpqrsvwxyz"

func fakeHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	var b strings.Builder
	for _, c := range sum[:32] {
		b.WriteByte(alphabet[c%32])
	}
	return b.String()
}

// input is an input derivation with the outputs used.
type input struct {
	path    string
	outputs []string
}

// add makes a derivation whose paths derive from its content, as Nix's
// do, and returns its path and its outputs' paths.
func (s store) add(name string, outputs []string, env map[string]string, inputs []input, srcs ...string) (string, map[string]string) {
	seed := fmt.Sprint(name, outputs, sortedPairs(env), inputs, srcs)
	outs := map[string]string{}
	d := &derivation.Derivation{System: "x86_64-linux", Builder: "/bin/sh", Args: []string{"-e", "builder.sh"}, InputSrcs: slices.Sorted(slices.Values(srcs))}
	e := merge(env)
	for _, o := range outputs {
		suffix := ""
		if o != "out" {
			suffix = "-" + o
		}
		outs[o] = "/nix/store/" + fakeHash(seed+o) + "-" + name + suffix
		e[o] = outs[o]
	}
	e["name"] = name
	e["outputs"] = strings.Join(outputs, " ")
	for _, o := range slices.Sorted(slices.Values(outputs)) {
		d.Outputs = append(d.Outputs, derivation.Output{Name: o, Path: outs[o]})
	}
	for _, in := range inputs {
		d.InputDrvs = append(d.InputDrvs, derivation.InputDrv{Path: in.path, Outputs: in.outputs})
	}
	slices.SortFunc(d.InputDrvs, func(a, b derivation.InputDrv) int { return strings.Compare(a.Path, b.Path) })
	for _, k := range slices.Sorted(maps.Keys(e)) {
		d.Env = append(d.Env, derivation.EnvVar{Name: k, Value: e[k]})
	}
	p := "/nix/store/" + fakeHash(d.String()) + "-" + name + ".drv"
	s[p] = d
	return p, outs
}

func sortedPairs(m map[string]string) []string {
	var l []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		l = append(l, k+"="+m[k])
	}
	return l
}

func merge(ms ...map[string]string) map[string]string {
	r := map[string]string{}
	for _, m := range ms {
		maps.Copy(r, m)
	}
	return r
}

const src = "/nix/store/563231inw6p0fbr4ab4a9grwkczx44a6-hello.c"

// pkg describes a test package: its attributes by stage and its input.
type pkg struct {
	early, unwrapped, final map[string]string
	dep                     string // zlib's version
}

// split adds the three stages of p, as nix/split.nix makes them, and
// returns the final stage's path.
func (s store) split(p pkg) string {
	dep, depOut := s.add("zlib-"+p.dep, []string{"out"}, map[string]string{"version": p.dep}, nil)
	common := merge(p.early, map[string]string{"buildInputs": depOut["out"], "src": src})
	ins := []input{{dep, []string{"out"}}}
	v, vo := s.add("hello-1.0", []string{"checkpoint", "out"}, merge(common, map[string]string{"vanillaStage": "vanilla"}), ins, src)
	u, uo := s.add("hello-1.0", []string{"out", "checkpoint"}, merge(common, p.unwrapped,
		map[string]string{"vanillaStage": "unwrapped", "vanillaFrom": vo["checkpoint"]}), append(ins, input{v, []string{"checkpoint"}}), src)
	f, _ := s.add("hello-1.0", []string{"out"}, merge(common, p.unwrapped, p.final,
		map[string]string{"vanillaStage": "final", "vanillaFrom": uo["checkpoint"], "vanillaPackage": "1"}), append(ins, input{u, []string{"checkpoint"}}), src)
	return f
}

// plain adds p unsplit.
func (s store) plain(p pkg) string {
	dep, depOut := s.add("zlib-"+p.dep, []string{"out"}, map[string]string{"version": p.dep}, nil)
	f, _ := s.add("hello-1.0", []string{"out"}, merge(p.early, p.unwrapped, p.final, map[string]string{"buildInputs": depOut["out"], "src": src}),
		[]input{{dep, []string{"out"}}}, src)
	return f
}

func base() pkg {
	return pkg{
		early:     map[string]string{"makeFlags": "PREFIX=$(out)", "pname": "hello"},
		unwrapped: map[string]string{"postInstall": "ln -s hello $out/bin/hi"},
		final:     map[string]string{"postFixup": "echo hi"},
		dep:       "1.3",
	}
}
