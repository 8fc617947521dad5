package classify

import (
	"strings"
	"testing"
)

func TestOf(t *testing.T) {
	tests := []struct {
		attr string
		want Stage
	}{
		{"postFixup", Final},
		{"dontStrip", Final},
		{"meta", Final},
		{"postInstall", Unwrapped},
		{"installFlags", Unwrapped},
		{"postBuild", Unwrapped},
		{"preBuild", Early},
		{"configureFlags", Early},
		{"doCheck", Early},
		{"src", Early},
		{"somethingNobodyClassified", Early},
	}
	for _, tt := range tests {
		if got := Default().Of(tt.attr); got != tt.want {
			t.Errorf("Of(%q) = %v, want %v", tt.attr, got, tt.want)
		}
	}
}

func TestParseRejectsContradictions(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"twice", `{"unwrapped":{"attributes":["a"]},"final":{"attributes":["a"]}}`, "both"},
		{"early and late", `{"final":{"attributes":["a"]},"early":{"attributes":{"a":"why"}}}`, "early"},
		{"not json", `{`, "classification.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse([]byte(tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parse: got %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestLateInputsHaveFunctions(t *testing.T) {
	for _, in := range Default().LateInputs {
		if in.Name == "" || len(in.Functions) == 0 {
			t.Errorf("late input %+v needs a name and functions", in)
		}
	}
}
