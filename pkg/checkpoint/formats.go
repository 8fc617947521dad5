package checkpoint

import (
	"fmt"

	"github.com/nix-vanilla/nix-vanilla/pkg/codesign"
	"github.com/nix-vanilla/nix-vanilla/pkg/pngcrc"
	"github.com/nix-vanilla/nix-vanilla/pkg/tarsum"
	"github.com/nix-vanilla/nix-vanilla/pkg/zipcrc"
)

// ChecksumError reports a file whose own checksums over rewritten bytes
// (PNG chunk CRCs, tar header checksums, CRC-32s of stored zip members,
// Mach-O code signature hashes) could not be recomputed.
type ChecksumError struct {
	Path string
	Err  error
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("%s: store hashes were rewritten in it, but its checksums cannot be recomputed: %v", e.Path, e.Err)
}

func (e *ChecksumError) Unwrap() error { return e.Err }

// maxFormatDepth bounds how deep formatSums looks into archives within
// archives (a PNG in a jar stored in a tar).
const maxFormatDepth = 4

// formatSums recomputes, in cur (a file's bytes after the rewrite; orig as
// the checkpoint held them), the checksums its format keeps over its own
// bytes, and returns how many it changed. Members of tar archives and
// members stored in zip archives are fixed first.
func formatSums(cur, orig []byte) (int, error) {
	return nestedSums("", cur, orig, 1)
}

func nestedSums(name string, cur, orig []byte, depth int) (int, error) {
	inner := func(member string, c, o []byte) (int, error) {
		if depth >= maxFormatDepth {
			return 0, nil
		}
		return nestedSums(name+member+"!/", c, o, depth+1)
	}
	var n int
	var err error
	switch {
	case pngcrc.IsPNG(orig):
		n, err = pngcrc.Fix(cur, orig)
	case zipcrc.IsZip(orig):
		n, err = zipcrc.Fix(cur, orig, inner)
	case tarsum.IsTar(orig):
		n, err = tarsum.Fix(cur, orig, inner)
	case codesign.IsMachO(orig):
		n, err = codesign.Fix(cur, orig)
	default:
		if what := unhandledSums(orig); what != "" {
			err = fmt.Errorf("it is %s, whose checksums over its bytes this restore does not recompute", what)
		}
	}
	if err != nil && name != "" {
		err = fmt.Errorf("member %s: %w", name[:len(name)-2], err)
	}
	return n, err
}

// unhandledSums names the formats that keep checksums over their own bytes
// which no fix-up here recomputes, so that a rewritten one is refused
// rather than left stale: TrueType and OpenType fonts (table checksums),
// ICC profiles (profile ID) and gettext catalogues (hash table over
// msgids).
func unhandledSums(b []byte) string {
	if len(b) < 4 {
		return ""
	}
	switch m := string(b[:4]); {
	case m == "\x00\x01\x00\x00" || m == "OTTO" || m == "true" || m == "ttcf":
		if len(b) >= 12 && (m != "\x00\x01\x00\x00" || b[4] == 0) {
			return "a TrueType or OpenType font"
		}
	case m == "\xde\x12\x04\x95" || m == "\x95\x04\x12\xde":
		return "a gettext message catalogue (.mo)"
	}
	if len(b) >= 40 && string(b[36:40]) == "acsp" {
		return "an ICC colour profile"
	}
	return ""
}
