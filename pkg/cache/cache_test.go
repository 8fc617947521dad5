package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nix-vanilla/nix-vanilla/pkg/checkpoint"
)

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) != "" {
		os.Exit(worker())
	}
	os.Exit(m.Run())
}

// key returns a key made from s.
func key(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// content returns the bytes of an entry's file, derived from its key, so
// that any reader can tell a torn or mixed-up entry.
func content(k, name string, size int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "%s %s %d\n", k, name, i)
	}
	return b.Bytes()[:size]
}

// fakeFiles are the files fill writes; the archive is large.
var fakeFiles = []string{checkpoint.ArchiveFile, "attrs.json", "state/fresh/vars", "state/end/vars", checkpoint.PristineFile}

// fill returns a fill function writing a checkpoint-like entry for k,
// with a manifest recording the archive's digest as checkpoint.Save does.
func fill(k string, archive int) func(string) error {
	return func(dir string) error {
		for _, n := range fakeFiles {
			size := 100
			if n == checkpoint.ArchiveFile {
				size = archive
			}
			if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(n)), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, n), content(k, n, size), 0o644); err != nil {
				return err
			}
		}
		sum := sha256.Sum256(content(k, checkpoint.ArchiveFile, archive))
		m := checkpoint.Manifest{Version: checkpoint.Version, Name: "hello-2.12", Archive: hex.EncodeToString(sum[:]),
			Stats: checkpoint.Stats{Compressed: int64(archive)}}
		data, err := json.Marshal(m)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, checkpoint.ManifestFile), data, 0o644)
	}
}

// checkContent checks that an entry holds k's files.
func checkContent(e *Entry, k string, archive int) error {
	for _, n := range fakeFiles {
		size := 100
		if n == checkpoint.ArchiveFile {
			size = archive
		}
		got, err := os.ReadFile(filepath.Join(e.Dir, n))
		if err != nil {
			return err
		}
		if !bytes.Equal(got, content(k, n, size)) {
			return fmt.Errorf("entry %s: %s does not hold the key's content", k[:12], n)
		}
	}
	return nil
}

func info(k string) Info {
	return Info{Key: k, Name: "hello-2.12", Point: "build", Attrs: map[string]string{"src": key("src")[:16], "patches": "00"}}
}

func newCache(t *testing.T) *Cache {
	t.Helper()
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func put(t *testing.T, c *Cache, k string, archive int) {
	t.Helper()
	if err := c.Put(info(k), fill(k, archive)); err != nil {
		t.Fatal(err)
	}
}

// dirNames lists a directory of the cache.
func dirNames(t *testing.T, c *Cache, d string) []string {
	t.Helper()
	names, err := readDirNames(c.path(d))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

func TestOpen(t *testing.T) {
	marker := func(s string) func(string) error {
		return func(d string) error { return os.WriteFile(filepath.Join(d, MarkerFile), []byte(s), 0o644) }
	}
	for _, tc := range []struct {
		name   string
		setup  func(dir string) error // in an empty directory
		sub    string                 // open this instead of the directory
		reason Reason                 // "" for success
	}{
		{name: "empty", setup: func(string) error { return nil }},
		{name: "lost+found", setup: func(d string) error { return os.Mkdir(filepath.Join(d, "lost+found"), 0o700) }},
		{name: "missing", sub: "nope", reason: Missing},
		{name: "file", setup: func(d string) error { return os.WriteFile(filepath.Join(d, "f"), nil, 0o644) }, sub: "f", reason: NotDir},
		{name: "foreign", setup: func(d string) error { return os.WriteFile(filepath.Join(d, "photo.jpg"), nil, 0o644) }, reason: Foreign},
		{name: "bad marker", setup: marker("ccache\n"), reason: Foreign},
		{name: "other version", setup: marker(markerMagic + "\nversion 99\n"), reason: OtherFormat},
		{name: "marker is a dir", setup: func(d string) error { return os.Mkdir(filepath.Join(d, MarkerFile), 0o755) }, reason: Foreign},
		{name: "marker only", setup: marker(markerMagic + "\nversion 1\n")},
		{name: "interrupted init", setup: func(d string) error {
			return os.WriteFile(filepath.Join(d, "."+MarkerFile+"8172634"), []byte(markerMagic), 0o644)
		}},
		{name: "dot file like a temporary marker", setup: func(d string) error {
			return os.WriteFile(filepath.Join(d, "."+MarkerFile+".swp"), nil, 0o644)
		}, reason: Foreign},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.setup != nil {
				if err := tc.setup(dir); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Open(filepath.Join(dir, tc.sub))
			var u *UnavailableError
			switch {
			case tc.reason == "" && err != nil:
				t.Fatalf("Open: %v", err)
			case tc.reason != "" && (!errors.As(err, &u) || u.Reason != tc.reason):
				t.Fatalf("Open: %v, want an UnavailableError %q", err, tc.reason)
			case tc.reason == "":
				// Initialised: opens again, and is tagged for backup tools.
				if _, err := Open(dir); err != nil {
					t.Fatalf("reopen: %v", err)
				}
				tag, err := os.ReadFile(filepath.Join(dir, TagFile))
				if tc.name == "empty" && (err != nil || !strings.HasPrefix(string(tag), "Signature: 8a477f597d28d172789f06886806bc55")) {
					t.Errorf("CACHEDIR.TAG: %q, %v", tag, err)
				}
			}
		})
	}
}

func TestOpenNotWritable(t *testing.T) {
	if os.Getuid() == 0 {
		t.Skip("root writes into a read-only directory; TestDiskFull's read-only mount covers root")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	_, err := Open(dir)
	var u *UnavailableError
	if !errors.As(err, &u) || u.Reason != NotWritable {
		t.Fatalf("Open: %v, want not writable", err)
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64 // -1: an error
	}{
		{"0", 0}, {"123", 123}, {"10G", 10 << 30}, {"10g", 10 << 30}, {"512M", 512 << 20}, {"1K", 1024},
		{"2T", 2 << 40}, {"1.5G", 3 << 29}, {"4GiB", 4 << 30}, {"4GB", 4 << 30}, {" 7M\n", 7 << 20}, {"100B", 100},
		{"", -1}, {"G", -1}, {"-1", -1}, {"1.5", -1}, {"1e9", -1}, {"10X", -1}, {"0x10", -1}, {"1.G", -1},
		{"99999999999T", -1}, {"1 G", -1}, {"1KM", -1},
	} {
		got, err := ParseSize(tc.in)
		if tc.want < 0 && err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", tc.in, got)
		} else if tc.want >= 0 && (err != nil || got != tc.want) {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestPutGet(t *testing.T) {
	c := newCache(t)
	k := key("a")
	clock(t, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	put(t, c, k, 5000)
	e, err := c.Get(k)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := checkContent(e, k, 5000); err != nil {
		t.Error(err)
	}
	want := info(k)
	want.Created = now()
	want.LastUsed = now()
	want.Size = 5000 + int64(100*(len(fakeFiles)-1))
	m, _ := os.Stat(filepath.Join(e.Dir, checkpoint.ManifestFile))
	want.Size += m.Size()
	if got := e.Info; !equalInfo(got, want) {
		t.Errorf("Info = %+v\nwant %+v", got, want)
	}
	// Shared modes, whatever the umask.
	for _, n := range []string{"", "state", checkpoint.ArchiveFile, HeaderFile, UseFile} {
		fi, err := os.Stat(filepath.Join(e.Dir, n))
		if err != nil {
			t.Fatal(err)
		}
		if want := fs.FileMode(fileMode); fi.IsDir() {
			want = dirMode
			if fi.Mode().Perm() != want {
				t.Errorf("%s: mode %v, want %v", n, fi.Mode().Perm(), want)
			}
		} else if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", n, fi.Mode().Perm(), want)
		}
	}
	if err := c.Verify(k); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if got := dirNames(t, c, TmpDir); len(got) != 0 {
		t.Errorf("tmp holds %q after a Put", got)
	}
	if _, err := c.Get(key("b")); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of an absent key: %v, want ErrNotFound", err)
	}
	if _, err := c.Get("../../etc"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Get of a path: %v, want an invalid key", err)
	}
}

func equalInfo(a, b Info) bool {
	return a.Key == b.Key && a.Name == b.Name && a.Point == b.Point && fmt.Sprint(a.Attrs) == fmt.Sprint(b.Attrs) &&
		a.Created.Equal(b.Created) && a.LastUsed.Equal(b.LastUsed) && a.Hits == b.Hits && a.Size == b.Size
}

// clock sets the package's clock to t for the test.
func clock(tb testing.TB, t time.Time) *time.Time {
	old := now
	cur := t
	now = func() time.Time { return cur }
	tb.Cleanup(func() { now = old })
	return &cur
}

func TestPutRefuses(t *testing.T) {
	c := newCache(t)
	for _, tc := range []struct {
		name string
		info Info
		fill func(string) error
	}{
		{"bad key", Info{Key: "../x", Name: "n", Point: "build"}, fill(key("x"), 10)},
		{"upper-case key", Info{Key: strings.ToUpper(key("x")), Name: "n", Point: "build"}, fill(key("x"), 10)},
		{"slash in name", Info{Key: key("x"), Name: "a/b", Point: "build"}, fill(key("x"), 10)},
		{"bad point", Info{Key: key("x"), Name: "n", Point: "a b"}, fill(key("x"), 10)},
		{"bad digest", Info{Key: key("x"), Name: "n", Point: "build", Attrs: map[string]string{"src": "zz"}}, fill(key("x"), 10)},
		{"fill fails", info(key("x")), func(d string) error {
			fill(key("x"), 10)(d)
			return errors.New("disk on fire")
		}},
		{"symlink", info(key("x")), func(d string) error { return os.Symlink("/etc/passwd", filepath.Join(d, "l")) }},
		{"reserved name", info(key("x")), func(d string) error { return os.WriteFile(filepath.Join(d, HeaderFile), nil, 0o644) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := c.Put(tc.info, tc.fill); err == nil {
				t.Fatal("Put succeeded")
			}
			if got := append(dirNames(t, c, EntriesDir), dirNames(t, c, TmpDir)...); len(got) != 0 {
				t.Errorf("a failed Put left %q", got)
			}
		})
	}
}

func TestPutExisting(t *testing.T) {
	c := newCache(t)
	k := key("a")
	put(t, c, k, 100)
	called := false
	if err := c.Put(info(k), func(string) error { called = true; return nil }); err != nil || called {
		t.Fatalf("second Put: %v, fill called: %v", err, called)
	}
	// A concurrent build that stored it while this one filled: its
	// entry stays, ours goes.
	k2 := key("b")
	err := c.Put(info(k2), func(d string) error {
		put(t, c, k2, 100)
		return fill(k2, 200)(d)
	})
	if err != nil {
		t.Fatal(err)
	}
	e, err := c.Get(k2)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := checkContent(e, k2, 100); err != nil {
		t.Error(err)
	}
	if got := dirNames(t, c, TmpDir); len(got) != 0 {
		t.Errorf("tmp holds %q", got)
	}
}

// TestOpenConcurrentInit opens one empty directory from many goroutines
// at once, as the first builds using a new cache do: every Open must
// succeed, none may take another's half-written marker for a foreign
// file.
func TestOpenConcurrentInit(t *testing.T) {
	for round := range 30 {
		dir := t.TempDir()
		errs := make(chan error, 12)
		start := make(chan struct{})
		for range cap(errs) {
			go func() {
				<-start
				_, err := Open(dir)
				errs <- err
			}()
		}
		close(start)
		for range cap(errs) {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if got := dirNamesOf(t, dir); !slices.Equal(got, []string{TagFile, EntriesDir, TmpDir, MarkerFile}) {
			t.Fatalf("round %d: cache holds %q", round, got)
		}
	}
}

func dirNamesOf(t *testing.T, dir string) []string {
	t.Helper()
	names, err := readDirNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}
