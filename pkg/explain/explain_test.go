package explain

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func names(d *Diff) (attrs, inputs []string) {
	if d == nil {
		return nil, nil
	}
	for _, a := range d.Attrs {
		attrs = append(attrs, a.Name+":"+a.Change+":"+a.Stage)
	}
	for _, in := range d.Inputs {
		inputs = append(inputs, in.Kind+":"+in.Name+":"+in.Change+":"+in.Stage)
	}
	return attrs, inputs
}

func TestExplainSplit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		change  func(*pkg)
		rebuild string
		same    []bool // per stage
		attrs   map[string][]string
		inputs  []string // of the first stage that differs
	}{
		{"nothing", func(*pkg) {}, "", []bool{true, true, true}, nil, nil},
		{"postFixup", func(p *pkg) { p.final = map[string]string{"postFixup": "echo bye"} }, Final, []bool{true, true, false},
			map[string][]string{Final: {"postFixup:changed:final"}}, nil},
		{"dontStrip added", func(p *pkg) { p.final = merge(p.final, map[string]string{"dontStrip": "1"}) }, Final, []bool{true, true, false},
			map[string][]string{Final: {"dontStrip:added:final"}}, nil},
		{"postInstall and postFixup", func(p *pkg) {
			p.unwrapped = map[string]string{"postInstall": "true"}
			p.final = map[string]string{"postFixup": "echo bye"}
		}, Unwrapped, []bool{true, false, false},
			map[string][]string{Unwrapped: {"postInstall:changed:unwrapped"}, Final: {"postFixup:changed:final"}}, nil},
		{"makeFlags", func(p *pkg) { p.early = merge(p.early, map[string]string{"makeFlags": "PREFIX=$(out) EXTRA=1"}) }, Vanilla, []bool{false, false, false},
			map[string][]string{Vanilla: {"makeFlags:changed:vanilla"}}, nil},
		{"zlib bumped", func(p *pkg) { p.dep = "1.3.1" }, Vanilla, []bool{false, false, false},
			nil, []string{"derivation:zlib-1.3.1:changed:vanilla"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := store{}
			old := s.split(base())
			p := base()
			tc.change(&p)
			nw := s.split(p)
			r, err := Explain(old, nw, Options{Read: s.read, Depth: 3})
			if err != nil {
				t.Fatal(err)
			}
			if !r.Split || r.Rebuild != tc.rebuild || r.Name != "hello-1.0" {
				t.Errorf("split %v rebuild %q name %q, want split, %q, hello-1.0", r.Split, r.Rebuild, r.Name, tc.rebuild)
			}
			if len(r.Stages) != 3 {
				t.Fatalf("%d stages", len(r.Stages))
			}
			for i, sd := range r.Stages {
				if sd.Stage != Stages[i] || sd.Same != tc.same[i] {
					t.Errorf("stage %d: %s same=%v, want %s same=%v", i, sd.Stage, sd.Same, Stages[i], tc.same[i])
				}
				attrs, inputs := names(sd.Diff)
				if !slices.Equal(attrs, tc.attrs[sd.Stage]) {
					t.Errorf("%s stage: attrs %q, want %q", sd.Stage, attrs, tc.attrs[sd.Stage])
				}
				if sd.Stage == tc.rebuild && !slices.Equal(inputs, tc.inputs) {
					t.Errorf("%s stage: inputs %q, want %q", sd.Stage, inputs, tc.inputs)
				} else if sd.Stage != tc.rebuild && len(inputs) > 0 {
					t.Errorf("%s stage: inputs %q named again", sd.Stage, inputs)
				}
				if sd.Diff != nil && sd.Stage != Vanilla && !sd.Same && !r.Stages[i-1].Same {
					if want := Stages[i-1]; sd.Diff.Because != want {
						t.Errorf("%s stage: because %q, want %q", sd.Stage, sd.Diff.Because, want)
					}
					if !slices.Contains(sd.Diff.Consequences, "vanillaFrom") {
						t.Errorf("%s stage: vanillaFrom not among the consequences %q", sd.Stage, sd.Diff.Consequences)
					}
				}
			}
		})
	}
}

func TestExplainInputWhy(t *testing.T) {
	s := store{}
	old := s.split(base())
	p := base()
	p.dep = "1.3.1"
	nw := s.split(p)
	r, err := Explain(old, nw, Options{Read: s.read, Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	in := r.Stages[0].Diff.Inputs[0]
	if in.OldName != "zlib-1.3" || in.Name != "zlib-1.3.1" || !slices.Equal(in.UsedBy, []string{"buildInputs"}) || in.Why == nil {
		t.Fatalf("input %+v", in)
	}
	attrs, _ := names(in.Why)
	if want := []string{"name:changed:", "version:changed:"}; !slices.Equal(attrs, want) {
		t.Errorf("why: %q, want %q", attrs, want)
	}
	if got := in.Why.Attrs[1].Summary; got != "1.3 → 1.3.1" {
		t.Errorf("version summary %q", got)
	}
	// buildInputs names zlib's output: a consequence, not a cause.
	if d := r.Stages[0].Diff; !slices.Contains(d.Consequences, "buildInputs") || len(d.Attrs) != 0 {
		t.Errorf("vanilla stage: attrs %+v, consequences %q", d.Attrs, d.Consequences)
	}

	r, err = Explain(old, nw, Options{Read: s.read, Depth: 0})
	if err != nil {
		t.Fatal(err)
	}
	if in := r.Stages[0].Diff.Inputs[0]; in.Why != nil || in.Note != NoteDepth {
		t.Errorf("depth 0: %+v", in)
	}

	// An input whose derivation is gone is named with the error.
	delete(s, in.New)
	r, err = Explain(old, nw, Options{Read: s.read, Depth: 3})
	if err != nil {
		t.Fatal(err)
	}
	if in := r.Stages[0].Diff.Inputs[0]; in.Why != nil || !strings.Contains(in.Note, "zlib-1.3.1.drv") {
		t.Errorf("gone: %+v", in)
	}
}

func TestExplainPlain(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*pkg)
		would  string
		stages map[string]string
	}{
		{"postFixup", func(p *pkg) { p.final = map[string]string{"postFixup": "echo bye"} }, Final, map[string]string{"postFixup": Final}},
		{"postInstall", func(p *pkg) { p.unwrapped = map[string]string{"postInstall": "true"} }, Unwrapped, map[string]string{"postInstall": Unwrapped}},
		{"postBuild added", func(p *pkg) { p.unwrapped = merge(p.unwrapped, map[string]string{"postBuild": "make doc"}) }, Unwrapped, map[string]string{"postBuild": Unwrapped}},
		{"makeFlags and postFixup", func(p *pkg) {
			p.early = merge(p.early, map[string]string{"makeFlags": "X=1"})
			p.final = map[string]string{"postFixup": "echo bye"}
		}, Vanilla, map[string]string{"makeFlags": Vanilla, "postFixup": Final}},
		{"declared late", func(p *pkg) {
			p.early = merge(p.early, map[string]string{"vanillaLateAttrs": "myFlags", "myFlags": "a"})
		}, Vanilla, map[string]string{"myFlags": Final, "vanillaLateAttrs": Vanilla}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := store{}
			old := s.plain(base())
			p := base()
			tc.change(&p)
			r, err := Explain(old, s.plain(p), Options{Read: s.read})
			if err != nil {
				t.Fatal(err)
			}
			if r.Split || r.Rebuild != Vanilla || r.WouldRebuild != tc.would {
				t.Errorf("split %v rebuild %q would %q, want unsplit, vanilla, %q", r.Split, r.Rebuild, r.WouldRebuild, tc.would)
			}
			got := map[string]string{}
			for _, a := range r.Diff.Attrs {
				got[a.Name] = a.Stage
			}
			if !maps.Equal(got, tc.stages) {
				t.Errorf("stages %v, want %v", got, tc.stages)
			}
		})
	}
}

// A late attribute a package declares moves with the declaration.
func TestExplainPlainDeclaredLate(t *testing.T) {
	s := store{}
	p := base()
	p.early = merge(p.early, map[string]string{"vanillaLateAttrs": "myFlags", "myFlags": "a"})
	old := s.plain(p)
	p.early = merge(p.early, map[string]string{"myFlags": "b"})
	r, err := Explain(old, s.plain(p), Options{Read: s.read})
	if err != nil {
		t.Fatal(err)
	}
	if r.WouldRebuild != Final || len(r.Diff.Attrs) != 1 || r.Diff.Attrs[0].Stage != Final {
		t.Errorf("would %q, attrs %+v", r.WouldRebuild, r.Diff.Attrs)
	}
}

func TestExplainMixed(t *testing.T) {
	s := store{}
	plain, split := s.plain(base()), s.split(base())
	r, err := Explain(plain, split, Options{Read: s.read})
	if err != nil {
		t.Fatal(err)
	}
	if r.Split || r.Rebuild != Vanilla || r.Mixed != "OLD is not split, NEW is a split package" || r.WouldRebuild != "" {
		t.Errorf("%+v", r)
	}
}

func TestExplainBrokenChain(t *testing.T) {
	s := store{}
	good := s.split(base())
	bad, _ := s.add("hello-1.0", []string{"out"}, map[string]string{"vanillaStage": "final", "vanillaFrom": "/nix/store/00000000000000000000000000000000-x-checkpoint"}, nil)
	_, err := Explain(good, bad, Options{Read: s.read})
	if err == nil || !strings.Contains(err.Error(), bad+": no input derivation has the output vanillaFrom names") {
		t.Errorf("error %v", err)
	}
	if _, err := Explain(good, "/nix/store/00000000000000000000000000000000-gone.drv", Options{Read: s.read}); err == nil || !strings.Contains(err.Error(), "gone.drv") {
		t.Errorf("missing file: %v", err)
	}
}

func TestCompareSourceChanged(t *testing.T) {
	s := store{}
	a, _ := s.add("hello-1.0", []string{"out"}, map[string]string{"src": src}, nil, src)
	other := "/nix/store/" + fakeHash("other") + "-hello.c"
	b, _ := s.add("hello-1.0", []string{"out"}, map[string]string{"src": other}, nil, other)
	d, err := Compare(a, b, Options{Read: s.read})
	if err != nil {
		t.Fatal(err)
	}
	_, inputs := names(d)
	if !slices.Equal(inputs, []string{"source:hello.c:changed:"}) || !slices.Equal(d.Inputs[0].UsedBy, []string{"src"}) || len(d.Attrs) != 0 {
		t.Errorf("inputs %q (used by %q), attrs %+v", inputs, d.Inputs[0].UsedBy, d.Attrs)
	}
}

func TestPair(t *testing.T) {
	p := func(h, n string) string { return "/nix/store/" + fakeHash(h) + "-" + n }
	old := []string{p("1", "zlib-1.3.drv"), p("2", "hook.drv"), p("3", "gone-1.0.drv"), p("4", "same.drv")}
	nw := []string{p("5", "zlib-1.3.1.drv"), p("6", "hook.drv"), p("7", "new.drv"), p("4", "same.drv")}
	got := pair(old, nw)
	if want := [][2]string{{old[1], nw[1]}, {old[0], nw[0]}}; !slices.Equal(got.changed, want) {
		t.Errorf("changed %q, want %q", got.changed, want)
	}
	if !slices.Equal(got.removed, old[2:3]) || !slices.Equal(got.added, nw[2:3]) {
		t.Errorf("removed %q added %q", got.removed, got.added)
	}
}

// Unsplit derivations with vanillaHook are hook mode.
func TestExplainHook(t *testing.T) {
	s := store{}
	hook, hookOut := s.add(HookName, []string{"out"}, nil, nil)
	mk := func(postFixup string) string {
		p, _ := s.add("hello-1.0", []string{"out"}, map[string]string{"nativeBuildInputs": hookOut["out"], "postFixup": postFixup},
			[]input{{hook, []string{"out"}}})
		return p
	}
	r, err := Explain(mk("echo hi"), mk("echo bye"), Options{Read: s.read})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Hook || r.WouldRebuild != Final {
		t.Errorf("hook %v would %q", r.Hook, r.WouldRebuild)
	}
	r, err = Explain(s.plain(base()), s.plain(base()), Options{Read: s.read})
	if err != nil {
		t.Fatal(err)
	}
	if r.Hook || r.Rebuild != "" {
		t.Errorf("without the hook: hook %v rebuild %q", r.Hook, r.Rebuild)
	}
}

// Two earlier stages (pkg.unwrapped of two versions) compare as they are.
func TestExplainSameStage(t *testing.T) {
	s := store{}
	old := s.split(base())
	p := base()
	p.unwrapped = map[string]string{"postInstall": "true"}
	nw := s.split(p)
	r, err := Explain(old, nw, Options{Read: s.read})
	if err != nil {
		t.Fatal(err)
	}
	u := r.Stages[1]
	r, err = Explain(u.Old, u.New, Options{Read: s.read})
	if err != nil {
		t.Fatal(err)
	}
	attrs, _ := names(r.Diff)
	if r.Stage != Unwrapped || r.Mixed != "" || r.WouldRebuild != "" || !slices.Equal(attrs, []string{"postInstall:changed:"}) {
		t.Errorf("stage %q mixed %q would %q attrs %q", r.Stage, r.Mixed, r.WouldRebuild, attrs)
	}
	if r.Diff.Because != "" {
		t.Errorf("because %q", r.Diff.Because)
	}
}
