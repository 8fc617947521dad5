package cachekey

import (
	"maps"
	"slices"
	"testing"

	"github.com/nix-vanilla/nix-vanilla/pkg/drvattrs"
)

const (
	store   = "/nix/store/"
	wrapper = store + "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-make-shell-wrapper-hook"
	zlib    = store + "cccccccccccccccccccccccccccccccc-zlib-1.3"
)

func base() drvattrs.Attrs {
	return drvattrs.Attrs{
		"name": "hello-1.0", "system": "x86_64-linux", "builder": store + "dddddddddddddddddddddddddddddddd-bash/bin/bash",
		"stdenv": store + "ffffffffffffffffffffffffffffffff-stdenv", "src": store + "gggggggggggggggggggggggggggggggg-hello.tar.gz",
		"outputs": "out dev", "out": store + "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh-hello-1.0", "dev": store + "iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii-hello-1.0-dev",
		"nativeBuildInputs": zlib, "configureFlags": "--enable-x", "postInstall": "echo hi",
		"makeFlags": "PREFIX=" + store + "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh-hello-1.0 -frandom-seed=hhhhhhhhhh",
	}
}

func with(kv ...string) drvattrs.Attrs {
	a := base()
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "\x00" {
			delete(a, kv[i])
		} else {
			a[kv[i]] = kv[i+1]
		}
	}
	return a
}

func TestCompute(t *testing.T) {
	tests := []struct {
		name           string
		attrs          drvattrs.Attrs
		build, install bool // whether the key stays that of base()
	}{
		{"other output paths", with("out", store+"jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj-hello-1.0", "dev", store+"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk-hello-1.0-dev",
			"makeFlags", "PREFIX="+store+"jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj-hello-1.0 -frandom-seed=jjjjjjjjjj"), true, true},
		{"makeFlags naming another path", with("makeFlags", "PREFIX="+store+"jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj-hello-1.0 -frandom-seed=hhhhhhhhhh"), false, false},
		{"postFixup added", with("postFixup", "wrapProgram $out/bin/hello"), true, true},
		{"dontStrip", with("dontStrip", "1"), true, true},
		{"postInstall changed", with("postInstall", "echo bye"), true, false},
		{"postBuild added", with("postBuild", "make doc"), true, false},
		{"the hook's cache directory", with("vanillaCacheDir", "/tmp/c"), true, true},
		{"makeWrapper added for postInstall", with("nativeBuildInputs", zlib+" "+wrapper, "postInstall", "wrapProgram $out/bin/hello"), true, false},
		{"makeWrapper called in buildPhase", with("nativeBuildInputs", zlib+" "+wrapper, "buildPhase", "make; makeWrapper a b"), false, false},
		{"makeWrapper kept early", with("nativeBuildInputs", zlib+" "+wrapper, "vanillaEarlyInputs", wrapper), false, false},
		{"postInstall kept early", with("vanillaEarlyAttrs", "postInstall"), false, false},
		{"configureFlags", with("configureFlags", "--enable-y"), false, false},
		{"src", with("src", store+"llllllllllllllllllllllllllllllll-hello.tar.gz"), false, false},
		{"an input", with("nativeBuildInputs", store+"mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm-zlib-1.3.1"), false, false},
		{"system", with("system", "aarch64-linux"), false, false},
		{"an output more", with("outputs", "out dev doc", "doc", store+"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn-hello-1.0-doc"), false, false},
		{"the name", with("name", "hello-1.1"), false, false},
	}
	ref := map[Point]*Key{}
	for _, p := range []Point{Build, Install} {
		k, err := Compute(base(), p)
		if err != nil {
			t.Fatal(err)
		}
		ref[p] = k
	}
	if ref[Build].Sum == ref[Install].Sum {
		t.Fatal("the two points share a key")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for p, same := range map[Point]bool{Build: tt.build, Install: tt.install} {
				k, err := Compute(tt.attrs, p)
				if err != nil {
					t.Fatal(err)
				}
				if got := k.Sum == ref[p].Sum; got != same {
					t.Errorf("%s key unchanged = %v, want %v (attributes that differ: %v)", p, got, same, differ(k.Attrs, ref[p].Attrs))
				}
			}
		})
	}
}

func differ(a, b map[string]string) []string {
	var d []string
	for _, n := range slices.Sorted(maps.Keys(a)) {
		if a[n] != b[n] {
			d = append(d, n)
		}
	}
	for n := range b {
		if _, ok := a[n]; !ok {
			d = append(d, n)
		}
	}
	return d
}

// Under structured attributes the outputs' paths are in the value of
// outputs.
func TestStructuredOutputs(t *testing.T) {
	attrs := func(h string) drvattrs.Attrs {
		out := store + h + "-hello-1.0"
		return drvattrs.Attrs{
			"name": "hello-1.0", "__structuredAttrs": "true",
			"outputs":   `{"out":"` + out + `"}`,
			"makeFlags": `["PREFIX=` + out + `"]`,
		}
	}
	for _, p := range []Point{Build, Install} {
		a, _ := Compute(attrs("hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"), p)
		b, _ := Compute(attrs("jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj"), p)
		if a.Sum != b.Sum {
			t.Errorf("%s: other output paths change the key (in %v)", p, differ(a.Attrs, b.Attrs))
		}
	}
}

// The digests name what changed.
func TestAttrsNameTheChange(t *testing.T) {
	a, _ := Compute(base(), Build)
	b, _ := Compute(with("configureFlags", "--enable-y", "src", store+"llllllllllllllllllllllllllllllll-x.tar.gz"), Build)
	if d := differ(b.Attrs, a.Attrs); !slices.Equal(d, []string{"configureFlags", "src"}) {
		t.Errorf("differing attributes = %v", d)
	}
	w, _ := Compute(with("nativeBuildInputs", zlib+" "+wrapper), Build)
	if !slices.Equal(w.Dropped, []string{wrapper}) {
		t.Errorf("Dropped = %v", w.Dropped)
	}
	if _, err := Compute(base(), "fixup"); err == nil {
		t.Error("an unknown point: no error")
	}
}

// TestValues checks that Values returns what the key's digests cover:
// the same names, output paths replaced, late attributes and inputs gone.
func TestValues(t *testing.T) {
	a := with("nativeBuildInputs", zlib+" "+wrapper, "postFixup", "wrapProgram $out/bin/hello")
	for _, p := range []Point{Build, Install} {
		v, err := Values(a, p)
		if err != nil {
			t.Fatal(err)
		}
		k, err := Compute(a, p)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := slices.Sorted(maps.Keys(v)), slices.Sorted(maps.Keys(k.Attrs)); !slices.Equal(got, want) {
			t.Errorf("%s: Values names %q, the key covers %q", p, got, want)
		}
		if _, ok := v["postFixup"]; ok {
			t.Errorf("%s: Values has the final attribute postFixup", p)
		}
		if got := v["makeFlags"]; got != "PREFIX="+store+"<output out>-hello-1.0 -frandom-seed=<output out>" {
			t.Errorf("%s: makeFlags = %q, want the output path replaced", p, got)
		}
		wantInputs := zlib + " " + wrapper
		if p == Build {
			wantInputs = zlib
		}
		if got := v["nativeBuildInputs"]; got != wantInputs {
			t.Errorf("%s: nativeBuildInputs = %q, want %q", p, got, wantInputs)
		}
	}
	if _, err := Values(a, "fixup"); err == nil {
		t.Error("Values accepted an unknown point")
	}
}
