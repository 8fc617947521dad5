package testbed

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nix-vanilla/nix-vanilla/pkg/cache"
)

// hookCache makes a cache directory the sandboxed builds (nixbld users)
// can write, and a Bed that binds it into the sandbox.
func hookCache(t *testing.T) (string, *Bed) {
	t.Helper()
	dir, err := os.MkdirTemp("", "vanilla-cache-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// As docs/cache.md sets the cache up: group nixbld, setgid.
	g, err := user.LookupGroup("nixbld")
	if err != nil {
		t.Fatal(err)
	}
	gid, _ := strconv.Atoi(g.Gid)
	if err := os.Chown(dir, 0, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o775|os.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	return dir, bed.With("extra-sandbox-paths = " + dir)
}

// hookFixture is nix-build's arguments for fixture name with kv as
// --argstr pairs.
func hookFixture(name string, hook bool, kv ...string) []string {
	args := []string{bed.Path("testdata/fixtures"), "-A", name, "--arg", "hook", fmt.Sprint(hook)}
	for i := 0; i+1 < len(kv); i += 2 {
		args = append(args, "--argstr", kv[i], kv[i+1])
	}
	return args
}

// TestHookMode builds every fixture with vanillaHook three times on one
// cache: a first build (a miss, which stores both resume points), a
// postInstall change (resumes after buildPhase) and a postFixup change
// (resumes after installPhase). Each build's outputs equal a plain
// build's with the same change, and the resumed builds ran none of the
// phases before their point.
func TestHookMode(t *testing.T) {
	names, err := bed.Fixtures()
	if err != nil {
		t.Fatal(err)
	}
	cache, b := hookCache(t)
	stamp := fmt.Sprint(time.Now().UnixNano())
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			hookSteps(t, b, name, cache, stamp, nil)
		})
	}
}

// hookSteps builds fixture name in hook mode three times on the cache
// (TestHookMode): first, after a postInstall change, after a postFixup
// change, each held to the plain build with the same change. hookedArgs
// are more nix-build arguments for the hooked builds only; logHas are
// lines every hooked build's log must have.
func hookSteps(t *testing.T, b *Bed, name, cache, stamp string, hookedArgs []string, logHas ...string) {
	t.Helper()
	ctx := context.Background()
	for _, step := range []struct {
		change  string
		logHas  []string
		skipped []string
	}{
		{"", []string{"vanilla: cache miss", "vanilla: cache: stored"}, nil},
		{"postInstall", []string{"vanilla: cache hit", "after buildPhase", "vanilla-change-postInstall"}, []string{"configurePhase", "buildPhase"}},
		{"postFixup", []string{"vanilla: cache hit", "after installPhase", "vanilla-change-postFixup"}, []string{"configurePhase", "buildPhase", "installPhase"}},
	} {
		kv := []string{"stamp", stamp, "cacheDir", cache}
		if step.change != "" {
			kv = append(kv, "change", step.change)
		}
		plain, err := b.Build(ctx, t.TempDir(), hookFixture(name, false, kv...)...)
		if err != nil {
			t.Fatal(err)
		}
		args := append(hookFixture(name, true, kv...), hookedArgs...)
		drv, err := b.Instantiate(ctx, args...)
		if err != nil {
			t.Fatal(err)
		}
		hooked, err := b.Build(ctx, t.TempDir(), args...)
		if err != nil {
			t.Fatal(err)
		}
		c, err := CompareOutputs(plain, hooked)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range c.Differences {
			t.Errorf("%s: hooked and plain builds differ: %s", orFirst(step.change), d)
		}
		log := buildLog(t, drv)
		for _, s := range append(step.logHas, logHas...) {
			if !strings.Contains(log, s) && !(s == "after buildPhase" && strings.Contains(log, "no resume point after buildPhase")) {
				t.Errorf("%s: the build log lacks %q:\n%s", orFirst(step.change), s, tail(log, 40))
			}
		}
		for _, phase := range step.skipped {
			if strings.Contains(log, "Running phase: "+phase) {
				t.Errorf("%s: the resumed build ran %s:\n%s", orFirst(step.change), phase, tail(log, 40))
			}
		}
	}
}

func orFirst(change string) string {
	if change == "" {
		return "first build"
	}
	return change + " changed"
}

// hookExpr is a small package built with vanillaHook on the test bed, with
// extra attributes (Nix text).
func hookExpr(cache, attrs string) string {
	return fmt.Sprintf(`(let
  pkgs = import %q { };
  vanilla = import %q { inherit pkgs; };
in pkgs.stdenv.mkDerivation {
  name = "hooked-1.0";
  src = builtins.toFile "hooked.c" "int main(void) { return 0; }";
  dontUnpack = true;
  nativeBuildInputs = [ vanilla.vanillaHook ];
  vanillaCacheDir = %q;
  buildPhase = "runHook preBuild; cc -o hooked $src; echo ok > built; if [ \"$poisonFlag\" = 1 ]; then rm built; fi; runHook postBuild";
  installPhase = "runHook preInstall; mkdir -p $out/bin; cp hooked $out/bin/; cat built > $out/built; runHook postInstall";
  %s
})`, bed.Path("nix/host-pkgs.nix"), bed.Path("nix"), cache, attrs)
}

// TestHookPoisonedEntry: an entry that makes a later phase fail does not
// fail the build for good. The package wrongly declares late an attribute
// its buildPhase reads; the build that stored the entry failed after
// storing it; the next build resumes from it, fails in installPhase, and
// runs again from scratch without the cache, which succeeds.
func TestHookPoisonedEntry(t *testing.T) {
	cache, b := hookCache(t)
	ctx := context.Background()
	stamp := fmt.Sprint(time.Now().UnixNano())
	attrs := func(flag string) string {
		return fmt.Sprintf(`vanillaLateAttrs = [ "poisonFlag" ]; poisonFlag = %q; stamp = %q;`, flag, stamp)
	}
	if _, err := b.Build(ctx, t.TempDir(), "-E", hookExpr(cache, attrs("1"))); err == nil {
		t.Fatal("the poisoning build succeeded")
	}
	expr := hookExpr(cache, attrs("0"))
	drv, err := b.Instantiate(ctx, "-E", expr)
	if err != nil {
		t.Fatal(err)
	}
	out, err := b.Build(ctx, t.TempDir(), "-E", expr)
	if err != nil {
		t.Fatalf("the build after a poisoned entry failed: %v", err)
	}
	if data, err := os.ReadFile(out["out"] + "/built"); err != nil || string(data) != "ok\n" {
		t.Errorf("built = %q, %v", data, err)
	}
	log := buildLog(t, drv)
	for _, s := range []string{"vanilla: cache hit", "running the build again from scratch without the cache", "vanilla: not using the cache"} {
		if !strings.Contains(log, s) {
			t.Errorf("the build log lacks %q:\n%s", s, tail(log, 40))
		}
	}
}

// TestHookUnavailableCache: a missing cache directory, or one the build
// cannot write, leaves the build as it is, with one line saying why.
func TestHookUnavailableCache(t *testing.T) {
	ctx := context.Background()
	stamp := fmt.Sprint(time.Now().UnixNano())
	for _, tt := range []struct {
		name string
		dir  func(t *testing.T) string
	}{
		{"missing", func(t *testing.T) string { return "/nonexistent/vanilla-cache" }},
		{"read-only", func(t *testing.T) string {
			dir, _ := hookCache(t)
			os.Chmod(dir, 0o555)
			return dir
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir(t)
			b := bed.With("extra-sandbox-paths = " + dir + "?")
			expr := hookExpr(dir, fmt.Sprintf("stamp = %q;", stamp+tt.name))
			drv, err := b.Instantiate(ctx, "-E", expr)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.Build(ctx, t.TempDir(), "-E", expr); err != nil {
				t.Fatal(err)
			}
			log := buildLog(t, drv)
			if n := strings.Count(log, "building as usual"); n != 1 {
				t.Errorf("%d lines say the build goes on as usual, want 1:\n%s", n, tail(log, 30))
			}
		})
	}
}

// TestHookWithSplit: a package with both vanillaPackage and the hook is
// the pure split; the hook serves the stages and leaves the cache alone.
func TestHookWithSplit(t *testing.T) {
	cache, b := hookCache(t)
	ctx := context.Background()
	stamp := fmt.Sprint(time.Now().UnixNano())
	args := append(hookFixture("make-baked", true, "stamp", stamp, "cacheDir", cache), "--arg", "split", "true")
	drvs, err := b.WouldBuild(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	if len(drvs) != 3 {
		t.Errorf("would build %v, want the three stages", drvs)
	}
	plain, err := b.Build(ctx, t.TempDir(), hookFixture("make-baked", false, "stamp", stamp)...)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Build(ctx, t.TempDir(), args...)
	if err != nil {
		t.Fatal(err)
	}
	c, err := CompareOutputs(plain, got)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range c.Differences {
		t.Errorf("split with the hook and plain builds differ: %s", d)
	}
	for _, drv := range drvs {
		if log := buildLog(t, drv); strings.Contains(log, "vanilla: cache") {
			t.Errorf("%s used the cache:\n%s", drv, tail(log, 20))
		}
	}
	if es, _ := os.ReadDir(cache + "/entries"); len(es) > 0 {
		t.Errorf("the cache has %d entries", len(es))
	}
}

// TestHookConcurrent builds eight hooked derivations at once on one cache
// (--max-jobs 8): pairs share their early attributes (the same keys,
// stored concurrently), two make the helper exit in the middle of writing
// an entry. Every build succeeds, every entry left verifies, and a second
// round with late changes resumes from them.
func TestHookConcurrent(t *testing.T) {
	cacheDir, b := hookCache(t)
	ctx := context.Background()
	stamp := fmt.Sprint(time.Now().UnixNano())
	list := func(round int) string {
		var drvs []string
		for i := range 8 {
			attrs := fmt.Sprintf(`stamp = "%s-%d"; postFixup = "echo round %d build %d";`, stamp, i/2, round, i)
			if round == 0 && i >= 6 {
				attrs += ` VANILLA_CACHE_FAULT = "exit-in-put";`
			}
			drvs = append(drvs, hookExpr(cacheDir, attrs))
		}
		return "[ " + strings.Join(drvs, " ") + " ]"
	}
	for round := range 2 {
		out, err := b.run(ctx, "nix-instantiate", "-E", list(round))
		if err != nil {
			t.Fatal(err)
		}
		drvs := strings.Fields(out)
		if len(drvs) != 8 {
			t.Fatalf("round %d: %d derivations, want 8", round, len(drvs))
		}
		if _, err := b.run(ctx, "nix-store", append([]string{"--realise", "--max-jobs", "8", "--add-root", t.TempDir() + "/r", "--indirect"}, drvs...)...); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for i, drv := range drvs {
			log := buildLog(t, drv)
			// Round 1: the three pairs that stored in round 0 resume (the
			// fourth pair's early attributes differ, the fault being one).
			if round == 1 && i < 6 && !strings.Contains(log, "vanilla: cache hit") {
				t.Errorf("round 1, build %d did not resume:\n%s", i, tail(log, 20))
			}
			if round == 0 && i >= 6 && !strings.Contains(log, "could not store the cache entry") {
				t.Errorf("round 0, build %d: the fault did not show:\n%s", i, tail(log, 20))
			}
		}
		c, err := cache.Open(cacheDir)
		if err != nil {
			t.Fatal(err)
		}
		infos, damaged, err := c.List()
		if err != nil || len(damaged) > 0 {
			t.Fatalf("round %d: List: %v, damaged %v", round, err, damaged)
		}
		for _, in := range infos {
			if err := c.Verify(in.Key); err != nil {
				t.Errorf("round %d: entry %s: %v", round, in.Key, err)
			}
		}
		// Round 0: three pairs stored both points (the fourth pair's Puts
		// exited midway).
		if round == 0 && len(infos) != 6 {
			t.Errorf("round 0: %d entries, want 6", len(infos))
		}
	}
}

// TestHookDiskFull: a cache on a full file system (a 1 MiB tmpfs) makes
// the store fail; the build succeeds and no partial entry remains.
func TestHookDiskFull(t *testing.T) {
	dir, b := hookCache(t)
	g, err := user.LookupGroup("nixbld")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k,mode=2775,gid="+g.Gid, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v: %s", err, out)
	}
	defer exec.Command("umount", dir).Run()
	ctx := context.Background()
	expr := hookExpr(dir, fmt.Sprintf(`stamp = %q; postInstall = "head -c 200000 /dev/urandom > $out/noise";`, fmt.Sprint(time.Now().UnixNano())))
	drv, err := b.Instantiate(ctx, "-E", expr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Build(ctx, t.TempDir(), "-E", expr); err != nil {
		t.Fatalf("the build failed on a full cache: %v", err)
	}
	log := buildLog(t, drv)
	if !strings.Contains(log, "could not store the cache entry") && !strings.Contains(log, "cannot write the hook's work directory") {
		t.Errorf("the log does not say the cache could not be written:\n%s", tail(log, 30))
	}
	c, err := cache.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	infos, damaged, err := c.List()
	if err != nil || len(damaged) > 0 {
		t.Fatalf("List: %v, damaged %v", err, damaged)
	}
	for _, in := range infos {
		if err := c.Verify(in.Key); err != nil {
			t.Errorf("entry %s: %v", in.Key, err)
		}
	}
	if tmp, _ := os.ReadDir(dir + "/tmp"); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

// TestHookStaleCompressed: buildPhase compresses text naming $out, which
// no restore can rewrite exactly; the build-tree file is left as the entry
// held it, and a postInstall change that resumes after buildPhase installs
// it. The check at the end of the build finds the earlier invocation's
// hash in the output and runs the build again from scratch: the output
// names this build's $out.
func TestHookStaleCompressed(t *testing.T) {
	cache, b := hookCache(t)
	ctx := context.Background()
	stamp := fmt.Sprint(time.Now().UnixNano())
	expr := func(note string) string {
		return fmt.Sprintf(`(let
  pkgs = import %q { };
  vanilla = import %q { inherit pkgs; };
in pkgs.stdenv.mkDerivation {
  name = "stale-1.0";
  dontUnpack = true;
  nativeBuildInputs = [ vanilla.vanillaHook ];
  vanillaCacheDir = %q;
  stamp = %q;
  buildPhase = "runHook preBuild; echo $out/share | gzip -9n > where.gz; runHook postBuild";
  installPhase = "runHook preInstall; install -Dm644 where.gz $out/share/where.gz; runHook postInstall";
  postInstall = "echo %s";
})`, bed.Path("nix/host-pkgs.nix"), bed.Path("nix"), cache, stamp, note)
	}
	if _, err := b.Build(ctx, t.TempDir(), "-E", expr("first")); err != nil {
		t.Fatal(err)
	}
	drv, err := b.Instantiate(ctx, "-E", expr("second"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := b.Build(ctx, t.TempDir(), "-E", expr("second"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := exec.Command("gzip", "-dc", out["out"]+"/share/where.gz").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := out["out"] + "/share\n"; string(got) != want {
		t.Errorf("where.gz holds %q, want %q", got, want)
	}
	log := buildLog(t, drv)
	for _, s := range []string{"vanilla: cache hit", "hold store hashes of the build that stored cache entry", "vanilla: not using the cache"} {
		if !strings.Contains(log, s) {
			t.Errorf("the build log lacks %q:\n%s", s, tail(log, 30))
		}
	}
}

// removeEntries removes the entries of the cache in dir at point.
func removeEntries(t *testing.T, dir, point string) {
	t.Helper()
	c, err := cache.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	infos, _, err := c.List()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, info := range infos {
		if info.Point == point {
			if err := c.Remove(info.Key); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatalf("the cache has no entry at %s to remove", point)
	}
}
