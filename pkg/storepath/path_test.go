package storepath

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	const h = "0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dgl"
	for _, tc := range []struct {
		in   string
		want Path // zero: an error
	}{
		{"/nix/store/" + h + "-hello", Path{"/nix/store", h, "hello"}},
		{"/nix/store/" + h + "-hello-2.12-dev", Path{"/nix/store", h, "hello-2.12-dev"}},
		{"/tmp/store/" + h + "-x", Path{"/tmp/store", h, "x"}},
		{h + "-x", Path{".", h, "x"}},
		{"/nix/store/" + h, Path{}},
		{"/nix/store/" + h + "-", Path{}},
		{"/nix/store/" + h + "_x", Path{}},
		{"/nix/store/0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dge-x", Path{}}, // e is not in the alphabet
		{"/nix/store/short-x", Path{}},
		{"/nix/store/" + h + "-x/bin/sh", Path{}},
		{"", Path{}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.want == (Path{}) {
				var pe *ParseError
				if !errors.As(err, &pe) || pe.Path != tc.in {
					t.Errorf("Parse = %+v, %v; want a *ParseError", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("Parse = %+v, %v; want %+v", got, err, tc.want)
			}
			if tc.want.Dir != "." && got.String() != tc.in {
				t.Errorf("String() = %q, want %q", got.String(), tc.in)
			}
		})
	}
}
