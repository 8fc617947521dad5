package nixpkgseval

import (
	"strings"
	"testing"
)

func TestParseStream(t *testing.T) {
	parts := []string{PartPlain, PartOverlaid}
	drv := `{"outputName":"out","drvs":{"out":"/nix/store/a-x.drv"},"throws":false}`
	tests := []struct {
		name, stderr string
		records      int
		crashed      string // name
		crashedPart  string
		warnings     []string
		wantErr      string
	}{{
		name: "two records",
		stderr: "trace: nixpkgseval-start a\ntrace: nixpkgseval-part plain " + drv + "\ntrace: nixpkgseval-part overlaid " + drv +
			"\ntrace: nixpkgseval-done a\ntrace: nixpkgseval-start b\ntrace: warning: old\ntrace: nixpkgseval-part plain null\ntrace: nixpkgseval-part overlaid null\ntrace: nixpkgseval-done b\n",
		records:  2,
		warnings: []string{"warning: old"},
	}, {
		name:        "crash in the second part",
		stderr:      "trace: nixpkgseval-start a\ntrace: nixpkgseval-part plain " + drv + "\nerror: attribute 'x' missing\n\n       at …\n",
		crashed:     "a",
		crashedPart: PartOverlaid,
	}, {
		name:        "crash before any part",
		stderr:      "trace: nixpkgseval-start a\nerror: evaluation aborted\n",
		crashed:     "a",
		crashedPart: PartPlain,
	}, {
		name:    "parts out of order",
		stderr:  "trace: nixpkgseval-start a\ntrace: nixpkgseval-part overlaid null\n",
		wantErr: "out of order",
	}, {
		name:    "done too early",
		stderr:  "trace: nixpkgseval-start a\ntrace: nixpkgseval-part plain null\ntrace: nixpkgseval-done a\n",
		wantErr: "with 1 of 2 parts",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseStream([]byte(tt.stderr), parts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(s.records) != tt.records {
				t.Errorf("%d records, want %d", len(s.records), tt.records)
			}
			if tt.warnings != nil && strings.Join(s.records[1].Warnings, "|") != strings.Join(tt.warnings, "|") {
				t.Errorf("warnings %q, want %q", s.records[1].Warnings, tt.warnings)
			}
			switch {
			case tt.crashed == "" && s.crashed != nil:
				t.Errorf("crashed %+v", s.crashed)
			case tt.crashed != "" && (s.crashed == nil || s.crashed.Name != tt.crashed || s.crashed.Crashed[tt.crashedPart] == ""):
				t.Errorf("crashed %+v, want %s in %s", s.crashed, tt.crashed, tt.crashedPart)
			}
		})
	}
}

func TestChecks(t *testing.T) {
	d := func(drv string) *Drvs { return &Drvs{OutputName: "out", Drvs: map[string]string{"out": drv}} }
	split := Stages{Name: "p-1", OutputName: "out", Split: true, Final: "f", Vanilla: "v", Unwrapped: "u"}
	with := func(s Stages, f func(*Stages)) Stages { f(&s); return s }
	good := Flag{
		Flagged: split,
		Fixup:   with(split, func(s *Stages) { s.Final = "f2" }),
		Install: with(split, func(s *Stages) { s.Final, s.Unwrapped = "f3", "u3" }),
	}
	unsplit := Stages{Name: "src", OutputName: "out", Unsplit: "it is a fixed-output derivation", Final: "s"}
	tests := []struct {
		name     string
		rec      Record
		zeroCost int
		flag     int
	}{
		{"good", Record{Name: "a", Plain: d("x"), Overlaid: d("x"), Flag: &good}, 0, 0},
		{"changed", Record{Name: "a", Plain: d("x"), Overlaid: d("y"), Flag: &good}, 1, 0},
		{"crashes only with the overlay", Record{Name: "a", Plain: d("x"), Crashed: map[string]string{PartOverlaid: "error"}}, 1, 0},
		{"crashes without the overlay", Record{Name: "a", Crashed: map[string]string{PartPlain: "error"}}, 0, 0},
		{"not split, no reason", Record{Name: "a", Plain: d("x"), Overlaid: d("x"), Flag: &Flag{Flagged: with(split, func(s *Stages) { s.Split = false })}}, 0, 1},
		{"unsplit, warned", Record{Name: "a", Plain: d("x"), Overlaid: d("x"), Flag: &Flag{Flagged: unsplit, Fixup: unsplit, Install: unsplit},
			Warnings: []string{"\x1b[1;31mwarning: nix-vanilla: building src unsplit: it is a fixed-output derivation\x1b[0m"}}, 0, 0},
		{"unsplit, silent", Record{Name: "a", Plain: d("x"), Overlaid: d("x"), Flag: &Flag{Flagged: unsplit, Fixup: unsplit, Install: unsplit}}, 0, 1},
		{"other output selected", Record{Name: "a", Plain: d("x"), Overlaid: &Drvs{OutputName: "lib", Drvs: map[string]string{"out": "x", "lib": "x"}}, Flag: &good}, 1, 1},
		{"postFixup rebuilds the checkpoint", Record{Name: "a", Plain: d("x"), Overlaid: d("x"),
			Flag: &Flag{Flagged: split, Fixup: with(split, func(s *Stages) { s.Final, s.Vanilla = "f2", "v2" }), Install: good.Install}}, 0, 1},
		{"postInstall keeps the unwrapped stage", Record{Name: "a", Plain: d("x"), Overlaid: d("x"),
			Flag: &Flag{Flagged: split, Fixup: good.Fixup, Install: with(split, func(s *Stages) { s.Final = "f3" })}}, 0, 1},
		{"adapter applied twice", Record{Name: "a", Plain: d("x"), Overlaid: d("x"),
			Flag: &Flag{Flagged: with(split, func(s *Stages) { s.Differ = []string{"configureFlags"} }), Fixup: good.Fixup, Install: good.Install}}, 0, 1},
		{"flag crashes", Record{Name: "a", Plain: d("x"), Overlaid: d("x"), Crashed: map[string]string{PartFlag: "error"}}, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := []Record{tt.rec}
			if got := ZeroCostProblems(recs); len(got) != tt.zeroCost {
				t.Errorf("zero-cost problems %q, want %d", got, tt.zeroCost)
			}
			if got := FlagProblems(recs); len(got) != tt.flag {
				t.Errorf("flag problems %q, want %d", got, tt.flag)
			}
		})
	}
}
