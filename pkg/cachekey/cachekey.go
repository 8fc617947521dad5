package cachekey

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nix-vanilla/nix-vanilla/pkg/classify"
	"github.com/nix-vanilla/nix-vanilla/pkg/drvattrs"
	"github.com/nix-vanilla/nix-vanilla/pkg/storepath"
)

// Point is a resume point.
type Point string

// The resume points.
const (
	// Build is after buildPhase, before the package's postBuild.
	Build Point = "build"
	// Install is after installPhase.
	Install Point = "install"
)

// Version is folded into every key: a helper whose entries another cannot
// read must not find them.
const Version = 1

// Key is a resume point's key.
type Key struct {
	// Point is the resume point.
	Point Point
	// Sum is the key, 64 hex digits.
	Sum string
	// Attrs maps each attribute the key covers to its digest (16 hex
	// digits): what a miss compares with the nearest entry.
	Attrs map[string]string
	// Dropped lists the late inputs left out of the input lists, as
	// store paths.
	Dropped []string
}

// hookAttrs are the hook's own attributes, which say where the cache is,
// not what is built.
var hookAttrs = []string{"vanillaCacheDir", "vanillaCacheMaxSize", "vanillaCache"}

// inputLists are the attributes that list a build's inputs.
var inputLists = []string{
	"nativeBuildInputs", "buildInputs", "propagatedBuildInputs", "propagatedNativeBuildInputs",
	"depsBuildBuild", "depsBuildBuildPropagated", "depsBuildTarget", "depsBuildTargetPropagated",
	"depsHostHost", "depsHostHostPropagated", "depsTargetTarget", "depsTargetTargetPropagated",
}

// Compute returns the key of point for a build with attributes attrs.
func Compute(attrs drvattrs.Attrs, point Point) (*Key, error) {
	kept, dropped, err := covered(attrs, point)
	if err != nil {
		return nil, err
	}
	k := &Key{Point: point, Attrs: map[string]string{}, Dropped: dropped}
	h := sha256.New()
	fmt.Fprintf(h, "nix-vanilla cache key %d %s\n", Version, point)
	for _, name := range slices.Sorted(maps.Keys(kept)) {
		d := sha256.Sum256([]byte(name + "\x00" + kept[name]))
		k.Attrs[name] = hex.EncodeToString(d[:8])
		fmt.Fprintf(h, "%s %x\n", name, d)
	}
	// The outputs' names (not their paths) shape the build.
	fmt.Fprintf(h, "outputs %q\n", outputNames(attrs))
	k.Sum = hex.EncodeToString(h.Sum(nil))
	return k, nil
}

// Values returns the attributes the key of point covers, with the values
// its digests ([Key.Attrs]) are computed over: output paths replaced by
// "<output NAME>" (so /nix/store/<output out>-hello-1.0), late inputs left out of the input lists. It is what a
// miss can show of the attributes that differ.
func Values(attrs drvattrs.Attrs, point Point) (drvattrs.Attrs, error) {
	kept, _, err := covered(attrs, point)
	return kept, err
}

// covered returns the attributes the key of point covers, normalised,
// and the late inputs left out.
func covered(attrs drvattrs.Attrs, point Point) (drvattrs.Attrs, []string, error) {
	if point != Build && point != Install {
		return nil, nil, fmt.Errorf("cachekey: unknown resume point %q", point)
	}
	late := lateAfter(attrs, point)
	outputs := outputNames(attrs)
	kept := drvattrs.Attrs{}
	for name, v := range attrs {
		switch {
		case slices.Contains(outputs, name), slices.Contains(hookAttrs, name), late(name):
			continue
		}
		kept[name] = v
	}
	// Values that name the outputs (makeFlags = [ "PREFIX=${placeholder
	// "out"}" ]) name them by output name.
	var pairs []string
	paths := outputPaths(attrs, outputs)
	for _, o := range outputs {
		b := filepath.Base(paths[o])
		if len(b) > storepath.HashLen && storepath.IsHash(b[:storepath.HashLen]) {
			h := b[:storepath.HashLen]
			pairs = append(pairs, h, "<output "+o+">", storepath.SeedFlag+storepath.Seed(h), storepath.SeedFlag+"<output "+o+">")
		}
	}
	if len(pairs) > 0 {
		r := strings.NewReplacer(pairs...)
		for name, v := range kept {
			kept[name] = r.Replace(v)
		}
	}
	var dropped []string
	if point == Build {
		dropped = dropLateInputs(kept, attrs)
	}
	return kept, dropped, nil
}

// outputNames are the build's output names: the words of outputs, or the
// keys of its structured value.
func outputNames(attrs drvattrs.Attrs) []string {
	v := attrs["outputs"]
	if strings.HasPrefix(v, "{") {
		var m map[string]string
		if json.Unmarshal([]byte(v), &m) == nil {
			return slices.Sorted(maps.Keys(m))
		}
	}
	names := drvattrs.Words(v)
	if len(names) == 0 {
		names = []string{"out"}
	}
	return names
}

// outputPaths maps output names to paths: the attributes named after the
// outputs, or the value of outputs under structured attributes.
func outputPaths(attrs drvattrs.Attrs, outputs []string) map[string]string {
	paths := map[string]string{}
	if v := attrs["outputs"]; strings.HasPrefix(v, "{") {
		_ = json.Unmarshal([]byte(v), &paths)
		return paths
	}
	for _, o := range outputs {
		paths[o] = attrs[o]
	}
	return paths
}

// lateAfter returns the predicate for attributes that only matter after
// point: those of the stages after the vanilla stage (Build) or after
// the unwrapped stage (Install), as in the pure split.
func lateAfter(attrs drvattrs.Attrs, point Point) func(string) bool {
	s := classify.Final
	if point == Build {
		s = classify.Unwrapped
	}
	return classify.Default().Later(s, func(n string) []string { return drvattrs.Words(attrs[n]) })
}

// dropLateInputs removes from kept's input lists the late inputs that no
// kept attribute mentions a function of, and the package's
// vanillaLateInputs; it returns what it removed.
func dropLateInputs(kept, attrs drvattrs.Attrs) []string {
	var text strings.Builder
	for name, v := range kept {
		if !slices.Contains(inputLists, name) {
			text.WriteString(v)
			text.WriteByte('\n')
		}
	}
	early := drvattrs.Words(attrs["vanillaEarlyInputs"])
	userLate := drvattrs.Words(attrs["vanillaLateInputs"])
	table := classify.Default()
	isLate := func(p string) bool {
		if slices.Contains(userLate, p) {
			return true
		}
		if slices.Contains(early, p) {
			return false
		}
		name := storeName(p)
		for _, in := range table.LateInputs {
			if name != in.Name {
				continue
			}
			for _, fn := range in.Functions {
				if strings.Contains(text.String(), fn) {
					return false
				}
			}
			return true
		}
		return false
	}
	var dropped []string
	for _, list := range inputLists {
		v, ok := kept[list]
		if !ok {
			continue
		}
		words := drvattrs.Words(v)
		var keep []string
		for _, w := range words {
			if isLate(w) {
				dropped = append(dropped, w)
			} else {
				keep = append(keep, w)
			}
		}
		if len(keep) < len(words) {
			kept[list] = strings.Join(keep, " ")
		}
	}
	slices.Sort(dropped)
	return slices.Compact(dropped)
}

// storeName is the name of a store path: its last element after the hash.
func storeName(p string) string {
	sp, err := storepath.Parse(p)
	if err != nil {
		return ""
	}
	return sp.Name
}
