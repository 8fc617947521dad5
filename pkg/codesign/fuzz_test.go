package codesign

import (
	"bytes"
	"testing"
)

// FuzzFix builds signed files of every layout from the fuzzer's bytes,
// changes one byte of their code, and checks that Fix makes exactly the
// file signed for the changed bytes.
func FuzzFix(f *testing.F) {
	f.Add([]byte("/nix/store/x"), uint16(3), byte(1), uint8(0), uint8(0))
	f.Add(bytes.Repeat([]byte{9}, 9000), uint16(8500), byte(0xff), uint8(7), uint8(14))
	f.Fuzz(func(t *testing.T, b []byte, at uint16, x byte, layout, shift uint8) {
		if len(b) == 0 || x == 0 || shift != 0 && (shift < 9 || shift > 16) {
			return
		}
		s := Synth{
			Body: b, BigEndian: layout&1 != 0, Is32: layout&2 != 0, PageShift: shift,
			HashTypes: [][]uint8{{HashSHA256}, {HashSHA1, HashSHA384}}[layout>>2&1],
		}
		if layout&32 != 0 {
			s.InfoPlist = []byte("<plist/>")
		}
		orig := s.Build()
		s.Body = bytes.Clone(b)
		s.Body[int(at)%len(b)] ^= x
		want := s.Build()
		if layout&8 != 0 {
			orig, want = Lipo(layout&16 != 0, 12, orig, orig), Lipo(layout&16 != 0, 12, want, want)
		}
		cur := bytes.Clone(orig)
		// Only the body's byte changes; the signature is Fix's to make.
		for _, sl := range mustParse(t, orig).Slices {
			for i := sl.Offset; i < sl.Signature.Offset; i++ {
				cur[i] = want[i]
			}
		}
		if _, err := Fix(cur, orig); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(cur, want) {
			t.Fatal("Fix did not give the file signed for the new bytes")
		}
	})
}

// FuzzParse feeds forged files to Parse, Verify and Fix: they must not
// panic, and Fix must keep the length and write nothing after an error
// about signatures.
func FuzzParse(f *testing.F) {
	thin := Synth{Body: []byte(oldPath), Requirements: []byte{0, 0, 0, 0}, CMS: []byte{}}.Build()
	f.Add(thin, uint16(200))
	f.Add(Lipo(true, 12, thin, Synth{Is32: true, BigEndian: true}.Build()), uint16(5000))
	f.Fuzz(func(t *testing.T, data []byte, at uint16) {
		Parse(data)
		Verify(data)
		if len(data) == 0 {
			return
		}
		cur := bytes.Clone(data)
		cur[int(at)%len(cur)]++
		before := bytes.Clone(cur)
		_, err := Fix(cur, data)
		if len(cur) != len(data) {
			t.Fatal("Fix changed the length")
		}
		if _, ok := err.(*SignedError); ok && !bytes.Equal(cur, before) {
			t.Fatal("Fix wrote to a file it refused")
		}
	})
}
