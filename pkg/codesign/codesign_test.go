package codesign

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// body is data naming oldPath in its first page and in its third.
func body() []byte {
	b := bytes.Repeat([]byte{0x5a}, 3*4096)
	copy(b[100:], oldPath)
	copy(b[2*4096+7:], oldPath+"/bin")
	return b
}

// rewritten returns s built with body, and built with the body rewritten
// as the restore would.
func rewritten(s Synth) (orig, want []byte) {
	s.Body = body()
	orig = s.Build()
	s.Body = bytes.ReplaceAll(s.Body, []byte(oldPath), []byte(newPath))
	s.Identifier = strings.ReplaceAll(s.Identifier, oldPath, newPath)
	if s.Requirements != nil {
		s.Requirements = bytes.ReplaceAll(s.Requirements, []byte(oldPath), []byte(newPath))
	}
	if s.InfoPlist != nil {
		s.InfoPlist = bytes.ReplaceAll(s.InfoPlist, []byte(oldPath), []byte(newPath))
	}
	return orig, s.Build()
}

// Fix gives the file built from the rewritten bytes, exactly (the
// synthetic files have a fixed UUID), in every layout the format allows.
func TestFixLayouts(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Synth
		want int
	}{
		{"64-bit little-endian", Synth{Identifier: "a"}, 2},
		{"32-bit big-endian", Synth{BigEndian: true, Is32: true, CPU: 18}, 2},
		{"64-bit big-endian", Synth{BigEndian: true, CPU: 0x01000012}, 2},
		{"16 KiB pages", Synth{PageShift: 14}, 1},
		{"SHA-1, SHA-256 and SHA-384", Synth{HashTypes: []uint8{HashSHA1, HashSHA256, HashSHA384}}, 6},
		{"truncated SHA-256", Synth{HashTypes: []uint8{HashSHA256Trunc}}, 2},
		{"codesign -s - (requirements, empty CMS)", Synth{Requirements: []byte{0, 0, 0, 0}, CMS: []byte{}}, 2},
		{"requirements naming the path", Synth{Requirements: []byte("\x00\x00\x00\x01" + oldPath)}, 3},
		{"identifier naming the path", Synth{Identifier: oldPath + "/bin/tool"}, 2},
		// Pages 0 and 2 of the body, the plist's page after it, its slot.
		{"embedded Info.plist naming the path", Synth{InfoPlist: []byte("<plist>" + oldPath + "</plist>"), Requirements: []byte{0, 0, 0, 0}}, 4},
		{"embedded Info.plist, 32-bit big-endian", Synth{Is32: true, BigEndian: true, InfoPlist: []byte(oldPath)}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig, want := rewritten(tc.s)
			if err := Verify(orig); err != nil {
				t.Fatalf("the synthetic file does not verify: %v", err)
			}
			cur := bytes.ReplaceAll(orig, []byte(oldPath), []byte(newPath))
			if Verify(cur) == nil {
				t.Fatal("the rewritten file verifies: the test proves nothing")
			}
			n, err := Fix(cur, orig)
			if err != nil || n != tc.want {
				t.Errorf("Fix = %d, %v; want %d", n, err, tc.want)
			}
			if !bytes.Equal(cur, want) {
				t.Error("the fixed file is not the one signed for the new bytes")
			}
			if err := Verify(cur); err != nil {
				t.Error(err)
			}
		})
	}
}

// codeLimit64 is used when set, and the 32-bit field then ignored.
func TestFixCodeLimit64(t *testing.T) {
	orig, want := rewritten(Synth{})
	limit := mustParse(t, orig).Slices[0].Signature.Directories[0].CodeLimit
	for _, f := range [][]byte{orig, want} {
		d := mustParse(t, f).Slices[0].Signature.Directories[0]
		binary.BigEndian.PutUint64(f[d.Offset+56:], uint64(d.CodeLimit))
		binary.BigEndian.PutUint32(f[d.Offset+32:], 0)
	}
	if got := mustParse(t, orig).Slices[0].Signature.Directories[0].CodeLimit; got != limit {
		t.Errorf("code limit %d", got)
	}
	cur := bytes.ReplaceAll(orig, []byte(oldPath), []byte(newPath))
	if n, err := Fix(cur, orig); err != nil || n != 2 || !bytes.Equal(cur, want) {
		t.Errorf("Fix = %d, %v", n, err)
	}
}

func TestFixUniversalSynthetic(t *testing.T) {
	a1, a2 := rewritten(Synth{})
	b1, b2 := rewritten(Synth{CPU: 0x01000007, HashTypes: []uint8{HashSHA1, HashSHA256}})
	for _, wide := range []bool{false, true} {
		orig, want := Lipo(wide, 12, a1, b1), Lipo(wide, 12, a2, b2)
		cur := bytes.ReplaceAll(orig, []byte(oldPath), []byte(newPath))
		if n, err := Fix(cur, orig); err != nil || n != 6 || !bytes.Equal(cur, want) {
			t.Errorf("64-bit offsets %v: Fix = %d, %v", wide, n, err)
		}
	}
}

// A hash already wrong before the rewrite stays wrong; the others are
// fixed.
func TestFixKeepsStaleHash(t *testing.T) {
	orig, _ := rewritten(Synth{})
	d := mustParse(t, orig).Slices[0].Signature.Directories[0]
	orig[d.SlotOffset(2)] ^= 0xff
	cur := bytes.ReplaceAll(orig, []byte(oldPath), []byte(newPath))
	if n, err := Fix(cur, orig); n != 1 || err != nil {
		t.Errorf("Fix = %d, %v; want 1", n, err)
	}
	var ve *VerifyError
	if err := Verify(cur); !errors.As(err, &ve) || len(ve.Mismatches) != 1 || ve.Mismatches[0].Slot != 2 {
		t.Errorf("Verify = %v, want page 2 alone stale", err)
	}
}

func TestFixRefusesCMS(t *testing.T) {
	for _, s := range []Synth{{CMS: []byte("0\x82\x01\x00 a certificate")}, {NotAdhoc: true}} {
		orig, _ := rewritten(s)
		cur := bytes.ReplaceAll(orig, []byte(oldPath), []byte(newPath))
		if _, err := Fix(cur, orig); !errors.Is(err, ErrSigned) || !strings.Contains(err.Error(), "arm64") {
			t.Errorf("Fix = %v, want ErrSigned naming arm64", err)
		}
	}
}

func TestFixErrors(t *testing.T) {
	orig, _ := rewritten(Synth{})
	var fe *FormatError
	for _, tc := range []struct {
		name      string
		cur, orig []byte
		want      any
	}{
		{"length", orig[:10], orig, ErrLength},
		{"not Mach-O", []byte("hello world"), []byte("hello there"), &fe},
		{"truncated", append(bytes.Clone(orig[:len(orig)-40]), 1), append(orig[:len(orig)-40:len(orig)-40], 2), &fe},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Fix(bytes.Clone(tc.cur), tc.orig)
			switch w := tc.want.(type) {
			case error:
				if !errors.Is(err, w) {
					t.Errorf("err = %v, want %v", err, w)
				}
			default:
				if !errors.As(err, w) {
					t.Errorf("err = %v, want a *FormatError", err)
				}
			}
		})
	}
}

func TestIsMachO(t *testing.T) {
	thin := Synth{}.Build()
	class := []byte("\xca\xfe\xba\xbe\x00\x00\x00\x34\x00\x1d\x0a\x00\x06\x00\x0f\x09")
	class = append(class, make([]byte, 2000)...)
	for _, tc := range []struct {
		name string
		data []byte
		want bool
	}{
		{"thin", thin, true},
		{"32-bit big-endian", Synth{Is32: true, BigEndian: true}.Build(), true},
		{"universal", Lipo(false, 12, thin), true},
		{"universal, 64-bit offsets", Lipo(true, 12, thin, thin), true},
		{"Java class file", class, false},
		{"fat header past the end", []byte("\xca\xfe\xba\xbe\x00\x00\x00\x01\x01\x00\x00\x0c\x00\x00\x00\x00\x00\x00\x40\x00\x00\x00\x10\x00\x00\x00\x00\x0e"), false},
		{"short", []byte("\xcf\xfa"), false},
	} {
		if got := IsMachO(tc.data); got != tc.want {
			t.Errorf("%s: IsMachO = %v", tc.name, got)
		}
	}
}

// BenchmarkFix fixes a 64 MiB signed file in which a store path was
// rewritten on 256 pages: Fix compares every page and hashes the changed
// ones twice (old bytes, to check the recorded hash; new bytes).
func BenchmarkFix(b *testing.B) {
	body := make([]byte, 64<<20)
	for i := 0; i < 256; i++ {
		copy(body[i*(len(body)/256):], oldPath)
	}
	orig := Synth{Body: body}.Build()
	cur := bytes.ReplaceAll(orig, []byte(oldPath), []byte(newPath))
	work := make([]byte, len(cur))
	b.SetBytes(int64(len(orig)))
	for b.Loop() {
		copy(work, cur)
		if n, err := Fix(work, orig); err != nil || n != 256 {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkVerify checks every page hash of a 64 MiB signed file.
func BenchmarkVerify(b *testing.B) {
	data := Synth{Body: make([]byte, 64<<20)}.Build()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := Verify(data); err != nil {
			b.Fatal(err)
		}
	}
}
