package testbed

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/nix-vanilla/nix-vanilla/pkg/codesign"
	"github.com/nix-vanilla/nix-vanilla/pkg/digest"
	"github.com/nix-vanilla/nix-vanilla/pkg/elfid"
)

// Comparison is the result of comparing two builds' outputs.
type Comparison struct {
	// Differences describe each path that differs, one line each.
	Differences []string
	// BuildIDOnly counts ELF files that are equal but for their GNU
	// build-id note.
	BuildIDOnly int
	// GzipOnly counts gzip (and xz) files whose compressed bytes differ but whose
	// contents are equal: compressing a different store path gives
	// different bytes, and no mapping reaches inside compressed data.
	GzipOnly int
	// Files counts the regular files compared.
	Files int
	// DigestOnly counts files equal once digests of files that differ
	// by their output paths are mapped (SHA256SUMS, RECORD); PycHashOnly
	// hash-based .pyc files equal but for the source hash they record.
	DigestOnly, PycHashOnly int
	// UUIDOnly counts Mach-O files equal but for their LC_UUIDs (lld
	// makes a new one at every link) and the code signature hashes of
	// the pages holding them, once the first build's file, mapped, has
	// its signature recomputed; UUIDHashes counts the hashes left out.
	UUIDOnly, UUIDHashes int
	sums                 *digest.Replacer
}

// CompareOutputs compares every output of a with the output of the same
// name of b: paths, file types, modes, symlink targets and contents, after
// replacing a's output store paths by b's.
func CompareOutputs(a, b Outputs) (*Comparison, error) {
	return CompareOutputsMapped(a, b)
}

// CompareOutputsMapped is CompareOutputs with more replacements (old, new
// pairs) applied to a's relative paths, symlink targets and contents: for
// names derived from what differs by construction, such as the GNU
// build-ids in a separate debug output's file names.
func CompareOutputsMapped(a, b Outputs, extra ...string) (*Comparison, error) {
	pairs := slices.Clone(extra)
	for name, pa := range a {
		pb, ok := b[name]
		if !ok {
			return nil, fmt.Errorf("output %s missing from %v", name, b)
		}
		pairs = append(pairs, pa, pb)
	}
	// nixpkgs seeds every compile with -frandom-seed= and the first 10
	// characters of $out's hash; what equal means maps that prefix too.
	if sa, sb := seed(a["out"]), seed(b["out"]); sa != "" && sb != "" {
		pairs = append(pairs, sa, sb)
	}
	if len(a) != len(b) {
		return nil, fmt.Errorf("outputs differ: %v and %v", a, b)
	}
	mapping := strings.NewReplacer(pairs...)
	c := &Comparison{}
	sums, err := digestChanges(mapping, a, b)
	if err != nil {
		return nil, err
	}
	c.sums = digest.New(sums)
	for name, pa := range a {
		if err := c.compareTree(mapping, pa, b[name]); err != nil {
			return nil, err
		}
	}
	sort.Strings(c.Differences)
	return c, nil
}

type node struct {
	mode   fs.FileMode
	target string
}

func list(root string) (map[string]node, error) {
	nodes := map[string]node{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		n := node{mode: fi.Mode()}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if n.target, err = os.Readlink(p); err != nil {
				return err
			}
		}
		nodes[rel] = n
		return nil
	})
	return nodes, err
}

func (c *Comparison) compareTree(mapping *strings.Replacer, a, b string) error {
	na, err := list(a)
	if err != nil {
		return err
	}
	nb, err := list(b)
	if err != nil {
		return err
	}
	mapped := map[string]bool{}
	for relA, x := range na {
		rel := mapping.Replace(relA)
		mapped[rel] = true
		y, ok := nb[rel]
		switch {
		case !ok:
			c.Differences = append(c.Differences, fmt.Sprintf("%s: only in %s", relA, a))
			continue
		case x.mode != y.mode:
			c.Differences = append(c.Differences, fmt.Sprintf("%s: mode %v, %v", rel, x.mode, y.mode))
			continue
		case mapping.Replace(x.target) != y.target:
			c.Differences = append(c.Differences, fmt.Sprintf("%s: symlink to %q, %q", rel, x.target, y.target))
			continue
		case !x.mode.IsRegular():
			continue
		}
		c.Files++
		da, err := os.ReadFile(filepath.Join(a, relA))
		if err != nil {
			return err
		}
		db, err := os.ReadFile(filepath.Join(b, rel))
		if err != nil {
			return err
		}
		orig := da
		da = []byte(mapping.Replace(string(da)))
		if bytes.Equal(da, db) {
			continue
		}
		if n, ok := machoUUIDOnly(orig, da, db); ok {
			c.UUIDOnly++
			c.UUIDHashes += n
			continue
		}
		// A digest over content that names the output path is equal when
		// it is the digest of the content it covers: the plain build's
		// file's digest maps to the split build's file's.
		if c.sums.Bytes(da) > 0 && bytes.Equal(da, db) {
			c.DigestOnly++
			continue
		}
		if pycHashOnly(da, db) {
			c.PycHashOnly++
			continue
		}
		if bytes.Equal(withoutBuildID(da), withoutBuildID(db)) {
			c.BuildIDOnly++
			continue
		}
		if ua, ub, ok := gunzipBoth(da, db); ok && mapping.Replace(string(ua)) == string(ub) {
			c.GzipOnly++
			continue
		}
		c.Differences = append(c.Differences, fmt.Sprintf("%s: contents differ (%d and %d bytes)", rel, len(da), len(db)))
	}
	for rel := range nb {
		if !mapped[rel] {
			c.Differences = append(c.Differences, fmt.Sprintf("%s: only in %s", rel, b))
		}
	}
	return nil
}

// gunzipBoth decompresses a and b if both are whole gzip streams, or
// both xz streams (with the xz program).
func gunzipBoth(a, b []byte) (ua, ub []byte, ok bool) {
	gunzip := func(data []byte) ([]byte, bool) {
		if bytes.HasPrefix(data, []byte("\xfd7zXZ\x00")) {
			cmd := exec.Command("xz", "-dc")
			cmd.Stdin = bytes.NewReader(data)
			out, err := cmd.Output()
			return out, err == nil
		}
		r, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, false
		}
		out, err := io.ReadAll(r)
		return out, err == nil
	}
	if ua, ok = gunzip(a); !ok {
		return nil, nil, false
	}
	ub, ok = gunzip(b)
	return ua, ub, ok
}

// machoUUIDOnly reports whether a (mapped from orig) and b are Mach-O
// files equal once a's code signature hashes are recomputed for the
// mapped bytes and both are taken without their UUIDs (see withoutUUID),
// and how many hashes that left out of each.
func machoUUIDOnly(orig, a, b []byte) (int, bool) {
	if len(a) != len(orig) || len(a) != len(b) || !codesign.IsMachO(a) {
		return 0, false
	}
	a = bytes.Clone(a)
	if _, err := codesign.Fix(a, orig); err != nil {
		return 0, false
	}
	ma, n, err := withoutUUID(a)
	if err != nil {
		return 0, false
	}
	mb, _, err := withoutUUID(b)
	return n, err == nil && bytes.Equal(ma, mb)
}

// withoutUUID returns a copy of a Mach-O file with the LC_UUID of every
// slice zeroed, and the hash of every page holding it in each of the
// slice's CodeDirectories, and how many hashes that zeroed.
func withoutUUID(data []byte) ([]byte, int, error) {
	f, err := codesign.Parse(data)
	if err != nil {
		return nil, 0, err
	}
	out := bytes.Clone(data)
	n := 0
	for _, s := range f.Slices {
		if s.UUID < 0 {
			continue
		}
		clear(out[s.UUID : s.UUID+16])
		if s.Signature == nil {
			continue
		}
		for _, d := range s.Signature.Directories {
			first, last := d.PageOf(s.UUID-s.Offset), d.PageOf(s.UUID+15-s.Offset)
			for p := max(first, 0); first >= 0 && p <= last; p++ {
				clear(out[d.SlotOffset(p) : d.SlotOffset(p)+d.HashSize])
				n++
			}
		}
	}
	return out, n, nil
}

// machOSignatures checks the code signature of every Mach-O file in
// outs, page hash by page hash (pkg/codesign's Verify), and returns how
// many files it checked, how many of their slices were signed, and an
// error naming every file whose signature does not verify.
func machOSignatures(outs Outputs) (files, signed int, err error) {
	var bad []error
	for _, root := range outs {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil || !codesign.IsMachO(data) {
				return err
			}
			f, err := codesign.Parse(data)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			files++
			for _, s := range f.Slices {
				if s.Signature != nil {
					signed++
				}
			}
			if err := codesign.Verify(data); err != nil {
				bad = append(bad, fmt.Errorf("%s: %w", p, err))
			}
			return nil
		})
		if err != nil {
			return files, signed, err
		}
	}
	return files, signed, errors.Join(bad...)
}

// withoutBuildID returns a copy of an ELF file's bytes with the GNU
// build-id descriptor zeroed, or data itself if it has none.
func withoutBuildID(data []byte) []byte {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return data
	}
	s := f.Section(".note.gnu.build-id")
	if s == nil || s.Type == elf.SHT_NOBITS || s.Offset+s.Size > uint64(len(data)) {
		return data
	}
	out := bytes.Clone(data)
	// The note header is namesz, descsz, type (4 bytes each), then "GNU\0".
	const header = 16
	if s.Size > header {
		clear(out[s.Offset+header : s.Offset+s.Size])
	}
	return out
}

// compareRecomputed is CompareOutputs where a's ELF files, once mapped,
// get their build-ids recomputed before the comparison.
func compareRecomputed(a, b Outputs) (*Comparison, error) {
	var pairs []string
	for name, pa := range a {
		pairs = append(pairs, pa, b[name])
	}
	mapping := strings.NewReplacer(pairs...)
	c := &Comparison{}
	for name, pa := range a {
		na, err := list(pa)
		if err != nil {
			return nil, err
		}
		for rel, n := range na {
			if !n.mode.IsRegular() {
				continue
			}
			da, err := os.ReadFile(filepath.Join(pa, rel))
			if err != nil {
				return nil, err
			}
			db, err := os.ReadFile(filepath.Join(b[name], rel))
			if err != nil {
				return nil, err
			}
			da = []byte(mapping.Replace(string(da)))
			if elfid.IsELF(da) {
				if _, err := elfid.Recompute(da); err != nil {
					return nil, fmt.Errorf("%s: %w", rel, err)
				}
			}
			c.Files++
			if !bytes.Equal(da, db) {
				if bytes.Equal(withoutBuildID(da), withoutBuildID(db)) {
					c.BuildIDOnly++
				} else {
					c.Differences = append(c.Differences, rel+": contents differ")
				}
			}
		}
	}
	return c, nil
}

// seed is the -frandom-seed= flag nixpkgs' reproducible-builds.sh derives
// from an output path, or "".
func seed(out string) string {
	base := filepath.Base(out)
	if out == "" || len(base) < 32 {
		return ""
	}
	return "-frandom-seed=" + base[:10]
}

// digestChanges pairs the digests of each file of a whose bytes name a's
// outputs (or otherwise differ) with those of b's file at the same place.
func digestChanges(mapping *strings.Replacer, a, b Outputs) ([]digest.Change, error) {
	var changes []digest.Change
	for name, pa := range a {
		err := filepath.WalkDir(pa, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			rel, _ := filepath.Rel(pa, p)
			da, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			db, err := os.ReadFile(filepath.Join(b[name], mapping.Replace(rel)))
			if err != nil || bytes.Equal(da, db) {
				return nil
			}
			changes = append(changes, digest.Change{Old: digest.OfAll(da), New: digest.OfAll(db)})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return changes, nil
}

// pycHashOnly reports whether a and b are hash-based .pyc files (PEP 552)
// that differ only in the source hash they record, which covers a source
// naming the output path. Whether each is valid for its source is for the
// package's check (Python's --check-hash-based-pycs always) to say.
func pycHashOnly(a, b []byte) bool {
	if len(a) < 16 || len(a) != len(b) || a[2] != '\r' || a[3] != '\n' || a[4]&1 == 0 || !bytes.Equal(a[:8], b[:8]) {
		return false
	}
	return bytes.Equal(a[16:], b[16:])
}
