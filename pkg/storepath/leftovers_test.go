package storepath

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	stdgzip "compress/gzip"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

var leftoverMap = map[string]string{hA: hA2, hB: hB2}

// payload is text that refers to hA and to an unrelated store path.
var payload = []byte(strings.Repeat("see /nix/store/"+hA+"-doc/share/doc and /nix/store/"+hC+"-other\n", 50))

func gzipBytes(t *testing.T, data []byte, level int) []byte {
	t.Helper()
	var b bytes.Buffer
	z, err := stdgzip.NewWriterLevel(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	z.Write(data)
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func zstdBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(data, nil)
}

// commandBytes pipes data through a compression program, skipping the
// test if the program is missing.
func commandBytes(t *testing.T, name string, data []byte) []byte {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("no %s program: %v", name, err)
	}
	cmd := exec.Command(path, "-c")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out
}

type zipEntry struct {
	name   string
	data   []byte
	method uint16
}

func zipBytes(t *testing.T, entries ...zipEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: e.method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// rewriteAndCheck writes data to a file, rewrites it, and returns its
// leftovers.
func rewriteAndCheck(t *testing.T, data []byte) ([]Leftover, error) {
	t.Helper()
	r := mustRewriter(t, leftoverMap)
	path := writeFile(t, "f", data, 0o644)
	if _, err := r.File(path); err != nil {
		t.Fatal(err)
	}
	found, err := r.Leftovers(path)
	if err != nil && !strings.HasPrefix(err.Error(), "leftovers "+path+": ") {
		t.Errorf("error %q lacks context", err)
	}
	return found, err
}

func TestLeftovers(t *testing.T) {
	inA := []Leftover{{Hash: hA}}
	clean := bytes.ReplaceAll(payload, []byte(hA), []byte(hA2))
	deflate := zip.Deflate
	for _, tc := range []struct {
		name string
		data func(t *testing.T) []byte
		want []Leftover
	}{
		{"plain", func(t *testing.T) []byte { return payload }, nil},
		{"empty", func(t *testing.T) []byte { return nil }, nil},
		{"gzip", func(t *testing.T) []byte { return gzipBytes(t, payload, 9) }, inA},
		{"gzip clean", func(t *testing.T) []byte { return gzipBytes(t, clean, 9) }, nil},
		{"gzip two streams", func(t *testing.T) []byte {
			return append(gzipBytes(t, clean, 9), gzipBytes(t, []byte(hB), 9)...)
		}, []Leftover{{Hash: hB}}},
		{"zstd", func(t *testing.T) []byte { return zstdBytes(t, payload) }, inA},
		{"zstd clean", func(t *testing.T) []byte { return zstdBytes(t, clean) }, nil},
		{"bzip2", func(t *testing.T) []byte { return commandBytes(t, "bzip2", payload) }, inA},
		{"bzip2 clean", func(t *testing.T) []byte { return commandBytes(t, "bzip2", clean) }, nil},
		{"xz", func(t *testing.T) []byte { return commandBytes(t, "xz", payload) }, inA},
		{"xz clean", func(t *testing.T) []byte { return commandBytes(t, "xz", clean) }, nil},
		{"tar.gz", func(t *testing.T) []byte {
			// A tar is plain: its members are searched as one stream.
			tarish := append(make([]byte, 512), payload...)
			return gzipBytes(t, tarish, 6)
		}, inA},
		{"gzip of gzip", func(t *testing.T) []byte { return gzipBytes(t, gzipBytes(t, payload, 1), 1) }, inA},
		{"zip", func(t *testing.T) []byte {
			return zipBytes(t,
				zipEntry{"META-INF/", nil, zip.Store},
				zipEntry{"a.txt", clean, deflate},
				zipEntry{"doc/b.txt", payload, deflate},
				zipEntry{"c.txt", []byte(hB + hA), deflate},
			)
		}, []Leftover{{hA, "doc/b.txt"}, {hB, "c.txt"}, {hA, "c.txt"}}},
		{"zip clean", func(t *testing.T) []byte {
			return zipBytes(t, zipEntry{"a.txt", clean, deflate}, zipEntry{"s.txt", clean, zip.Store})
		}, nil},
		{"jar in jar", func(t *testing.T) []byte {
			inner := zipBytes(t, zipEntry{"x/Y.class", payload, deflate}, zipEntry{"z", clean, deflate})
			return zipBytes(t, zipEntry{"BOOT-INF/lib/inner.jar", inner, deflate})
		}, []Leftover{{hA, "BOOT-INF/lib/inner.jar!/x/Y.class"}}},
		{"name in nested jar", func(t *testing.T) []byte {
			inner := zipBytes(t, zipEntry{"nix/store/" + hB + "/f", clean, deflate})
			return zipBytes(t, zipEntry{"inner.jar", inner, deflate})
		}, []Leftover{{hB, "inner.jar"}}},
		// Stored members are the file's own bytes, rewritten exactly (their
		// CRC is pkg/zipcrc's to fix), also in a stored jar.
		{"stored member", func(t *testing.T) []byte {
			return zipBytes(t, zipEntry{"a.txt", payload, zip.Store}, zipEntry{"b.txt", clean, deflate})
		}, nil},
		{"stored jar in a zip", func(t *testing.T) []byte {
			inner := zipBytes(t, zipEntry{"x/Y.class", payload, zip.Store}, zipEntry{"z", payload, deflate})
			return zipBytes(t, zipEntry{"lib/inner.jar", inner, zip.Store})
		}, []Leftover{{hA, "lib/inner.jar!/z"}}},
		{"gzip in zip", func(t *testing.T) []byte {
			return zipBytes(t, zipEntry{"man/x.1.gz", gzipBytes(t, payload, 9), zip.Store})
		}, []Leftover{{hA, "man/x.1.gz"}}},
		{"zip in gzip", func(t *testing.T) []byte {
			return gzipBytes(t, zipBytes(t, zipEntry{"a", payload, deflate}), 9)
		}, []Leftover{{hA, "!/a"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			found, err := rewriteAndCheck(t, tc.data(t))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(found, tc.want) {
				t.Errorf("Leftovers = %v, want %v", found, tc.want)
			}
		})
	}
}

func TestLeftoversNestedOnDisk(t *testing.T) {
	defer func(v int64) { maxInMemory = v }(maxInMemory)
	maxInMemory = 100
	inner := zipBytes(t, zipEntry{"x/Y.class", payload, zip.Deflate}, zipEntry{"nix/store/" + hB, nil, zip.Store})
	found, err := rewriteAndCheck(t, zipBytes(t, zipEntry{"inner.jar", inner, zip.Deflate}))
	if err != nil {
		t.Fatal(err)
	}
	want := []Leftover{{hA, "inner.jar!/x/Y.class"}, {hB, "inner.jar"}}
	if !reflect.DeepEqual(found, want) {
		t.Errorf("Leftovers = %v, want %v", found, want)
	}
	if s := fmt.Sprint(found); s != "["+hA+" in inner.jar!/x/Y.class "+hB+" in inner.jar]" {
		t.Errorf("printed as %s", s)
	}
}

func TestLeftoversChecksum(t *testing.T) {
	// A hash stored uncompressed inside a checksummed container is
	// rewritten by File, which breaks the checksum.
	for _, tc := range []struct {
		name string
		data func(t *testing.T) []byte
		is   error
	}{
		{"stored gzip block", func(t *testing.T) []byte {
			return gzipBytes(t, payload, flate.NoCompression)
		}, gzip.ErrChecksum},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rewriteAndCheck(t, tc.data(t))
			if err == nil {
				t.Fatal("Leftovers found no error")
			}
			if !strings.Contains(err.Error(), "checksum") {
				t.Errorf("error %q does not mention the checksum", err)
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
		})
	}
}

func TestLeftoversErrors(t *testing.T) {
	r := mustRewriter(t, leftoverMap)
	gz := gzipBytes(t, payload, 9)
	truncated := writeFile(t, "truncated.gz", gz[:len(gz)/2], 0o644)
	if _, err := r.Leftovers(truncated); err == nil {
		t.Error("truncated gzip: no error")
	}
	if _, err := r.Leftovers(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	// A symlink to a compressed file is not followed.
	link := filepath.Join(t.TempDir(), "link")
	os.Symlink(writeFile(t, "x.gz", gz, 0o644), link)
	if found, err := r.Leftovers(link); found != nil || err != nil {
		t.Errorf("symlink: %v, %v", found, err)
	}
	// Without an xz program, xz data cannot be checked.
	if _, err := exec.LookPath("xz"); err == nil {
		xz := writeFile(t, "x.xz", commandBytes(t, "xz", payload), 0o644)
		t.Setenv("PATH", "")
		if _, err := r.Leftovers(xz); !errors.Is(err, ErrNoDecoder) {
			t.Errorf("xz without xz: %v", err)
		}
	}
}

// arBytes is a GNU ar archive of the members.
func arBytes(members map[string][]byte, order ...string) []byte {
	var b bytes.Buffer
	b.WriteString("!<arch>\n")
	for _, name := range order {
		data := members[name]
		fmt.Fprintf(&b, "%-16s%-12d%-6d%-6d%-8o%-10d`\n", name+"/", 0, 0, 0, 0o644, len(data))
		b.Write(data)
		if len(data)%2 == 1 {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// TestLeftoversStaticLibrary: a static library's members are the file's
// own bytes, which the rewrite reaches: a store hash in a member's plain
// bytes (an object's strings, as binutils' libbfd.a has) is no leftover;
// one in a compressed member is.
func TestLeftoversStaticLibrary(t *testing.T) {
	path := []byte("/nix/store/" + hA + "-pkg-1.0/lib/bfd-plugins")
	obj := append([]byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00not really an object "), path...)
	r := mustRewriter(t, leftoverMap)
	plainLib := arBytes(map[string][]byte{"dwarf2.o": obj, "plugin.o": append([]byte("plain "), path...)}, "dwarf2.o", "plugin.o")
	// Inside looks at the bytes as they were before the rewrite, as a
	// restore does.
	found, err := r.Inside(plainLib)
	if err != nil || len(found) != 0 {
		t.Errorf("a static library with plain members: %v, %v; want no leftovers", found, err)
	}
	zipped := arBytes(map[string][]byte{"data.gz": gzipBytes(t, path, 6), "plugin.o": append([]byte("plain "), path...)}, "data.gz", "plugin.o")
	found, err = r.Inside(zipped)
	if err != nil || len(found) != 1 || found[0].Member != "data.gz" {
		t.Errorf("a static library with a gzipped member: %v, %v; want one leftover in data.gz", found, err)
	}
	// Inside compressed data, a static library's members are not the
	// file's own bytes: all of them count.
	found, err = r.Inside(gzipBytes(t, plainLib, 6))
	if err != nil || len(found) < 2 {
		t.Errorf("a gzipped static library: %v, %v; want leftovers in both members", found, err)
	}
}
