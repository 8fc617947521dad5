package resume

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-vanilla/nix-vanilla/pkg/cache"
	"github.com/nix-vanilla/nix-vanilla/pkg/cachekey"
	"github.com/nix-vanilla/nix-vanilla/pkg/checkpoint"
	"github.com/nix-vanilla/nix-vanilla/pkg/drvattrs"
)

const store = "/nix/store/"

func attrs(configure string) drvattrs.Attrs {
	return drvattrs.Attrs{
		"name": "hello-1.0", "outputs": "out", "out": store + "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh-hello-1.0",
		"src": store + "gggggggggggggggggggggggggggggggg-hello.tar.gz", "configureFlags": configure, "postInstall": "echo hi",
	}
}

// put stores an entry for a's key at point, with a file in it.
func put(t *testing.T, c *cache.Cache, a drvattrs.Attrs, point cachekey.Point) {
	t.Helper()
	k, err := cachekey.Compute(a, point)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Put(cache.Info{Key: k.Sum, Name: a["name"], Point: string(point), Attrs: k.Attrs}, func(dir string) error {
		return os.WriteFile(filepath.Join(dir, "attrs.json"), []byte("{}"), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLookup(t *testing.T) {
	c, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d, err := Lookup(LookupOptions{Cache: c, Attrs: attrs("--a"), Name: "hello-1.0"})
	if err != nil || d.Hit || d.Category != "no entry" || !strings.Contains(d.Reason, "no entry of hello-1.0") {
		t.Fatalf("empty cache: %+v, %v", d, err)
	}
	put(t, c, attrs("--a"), cachekey.Build)
	// A late change keeps the build point's key.
	late := attrs("--a")
	late["postInstall"] = "echo bye"
	d, err = Lookup(LookupOptions{Cache: c, Attrs: late, Name: "hello-1.0"})
	if err != nil || !d.Hit || d.Point != cachekey.Build || d.Key != d.Keys[cachekey.Build].Sum {
		t.Fatalf("late change: %+v, %v", d, err)
	}
	// The install point is tried first.
	put(t, c, attrs("--a"), cachekey.Install)
	d, _ = Lookup(LookupOptions{Cache: c, Attrs: attrs("--a"), Name: "hello-1.0"})
	if !d.Hit || d.Point != cachekey.Install {
		t.Fatalf("both points stored: %+v", d)
	}
	// An early change misses and names the attribute.
	d, _ = Lookup(LookupOptions{Cache: c, Attrs: attrs("--b"), Name: "hello-1.0"})
	if d.Hit || d.Reason != "nearest entry differs in configureFlags" {
		t.Fatalf("early change: %+v", d)
	}
}

func TestCheck(t *testing.T) {
	out := t.TempDir()
	old := "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	if err := os.WriteFile(filepath.Join(out, "fine"), []byte("nothing stale\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	outs := map[string]string{"out": out}
	if err := Check(t.Context(), []string{old}, outs); err != nil {
		t.Fatalf("clean outputs: %v", err)
	}
	if err := os.WriteFile(filepath.Join(out, "stale"), []byte(store+old+"-hello-1.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stale *checkpoint.StaleError
	if err := Check(t.Context(), []string{old}, outs); !errors.As(err, &stale) || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("stale output: %v", err)
	}
}

func TestClean(t *testing.T) {
	top, out := t.TempDir(), filepath.Join(t.TempDir(), "out")
	for _, p := range []string{"env-vars", "src/a.c", "src/ro/b.c", ".attrs.json"} {
		os.MkdirAll(filepath.Join(top, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(top, p), []byte("x"), 0o644)
	}
	os.Chmod(filepath.Join(top, "src/ro"), 0o555)
	os.MkdirAll(filepath.Join(out, "bin"), 0o755)
	if err := Clean(top, map[string]string{"out": out}); err != nil {
		t.Fatal(err)
	}
	names, _ := os.ReadDir(top)
	var got []string
	for _, n := range names {
		got = append(got, n.Name())
	}
	if strings.Join(got, ",") != ".attrs.json,env-vars" {
		t.Errorf("left %v, want Nix's files alone", got)
	}
	if _, err := os.Lstat(out); err == nil {
		t.Error("the output is still there")
	}
}
