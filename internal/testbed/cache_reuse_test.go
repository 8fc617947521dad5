package testbed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runLog runs a nix command with b's settings and returns what it printed
// on stdout and stderr together: build logs and "copying path …" lines.
func runLog(ctx context.Context, b *Bed, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env, cmd.Dir = b.Env(), b.Root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail(out.String(), 40))
	}
	return out.String(), err
}

// stampedExpr is split fixture `fixture` with an early attribute unique to
// this run (so that its stages are new store paths nothing else uses) and
// an override applied.
func stampedExpr(fixture, stamp, override string) string {
	return fmt.Sprintf(`((import %q { split = true; stamp = %q; }).%s.overrideAttrs (%s))`,
		bed.Path("testdata/fixtures"), stamp, fixture, override)
}

// stagePaths are the derivations and output paths of a split package's stages.
type stagePaths struct {
	VanillaDrv   string            `json:"vanillaDrv"`
	UnwrappedDrv string            `json:"unwrappedDrv"`
	FinalDrv     string            `json:"finalDrv"`
	Vanilla      map[string]string `json:"vanilla"`
	Unwrapped    map[string]string `json:"unwrapped"`
	Final        map[string]string `json:"final"`
}

func stagePathsOf(t *testing.T, expr string) stagePaths {
	t.Helper()
	out, err := bed.Eval(context.Background(), fmt.Sprintf(`let
  p = %s;
  outs = d: builtins.listToAttrs (map (o: { name = o; value = d.${o}.outPath; }) d.outputs);
in {
  vanillaDrv = p.vanilla.drvPath; unwrappedDrv = p.unwrapped.drvPath; finalDrv = p.drvPath;
  vanilla = outs p.vanilla; unwrapped = outs p.unwrapped; final = outs p;
}`, expr))
	if err != nil {
		t.Fatal(err)
	}
	var s stagePaths
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// valid returns those of paths that are valid in the store.
func valid(ctx context.Context, paths ...string) []string {
	var v []string
	for _, p := range paths {
		if err := exec.CommandContext(ctx, "nix-store", "--check-validity", p).Run(); err == nil {
			v = append(v, p)
		}
	}
	return v
}

// deletePaths deletes store paths that nothing keeps alive, as the garbage
// collector would, and fails the test if any survives.
func deletePaths(t *testing.T, ctx context.Context, b *Bed, paths ...string) {
	t.Helper()
	paths = valid(ctx, paths...)
	if len(paths) == 0 {
		return
	}
	if out, err := runLog(ctx, b, "nix-store", append([]string{"--delete"}, paths...)...); err != nil {
		t.Fatalf("deleting %v: %v\n%s", paths, err, out)
	}
	if left := valid(ctx, paths...); len(left) != 0 {
		t.Fatalf("still in the store after nix-store --delete: %v", left)
	}
}

func mapValues(ms ...map[string]string) []string {
	var v []string
	for _, m := range ms {
		for _, p := range m {
			v = append(v, p)
		}
	}
	return v
}

// dryRunLists parses `nix-build --dry-run`: what would be built and what
// would be fetched.
func dryRunLists(out string) (built, fetched []string) {
	var list *[]string
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.Contains(line, "will be built"):
			list = &built
		case strings.Contains(line, "will be fetched"):
			list = &fetched
		case strings.HasPrefix(line, "  ") && list != nil:
			*list = append(*list, strings.TrimSpace(line))
		default:
			list = nil
		}
	}
	return built, fetched
}

// TestBinaryCacheReuse pushes a split package's checkpoint stages to a
// signed file:// binary cache, deletes them from the store, and builds a
// postFixup and a postInstall change with that cache as the only
// substituter: the checkpoint is fetched, never rebuilt, and nothing is
// compiled again.
func TestBinaryCacheReuse(t *testing.T) {
	ctx := context.Background()
	stamp := fmt.Sprintf("binary-cache-%d", time.Now().UnixNano())
	base := stampedExpr("make-baked", stamp, "{ }")
	roots := t.TempDir()
	if _, err := bed.Build(ctx, roots, "-E", base); err != nil {
		t.Fatal(err)
	}
	s := stagePathsOf(t, base)
	pushed := mapValues(s.Vanilla, s.Unwrapped)

	// A signed cache.
	dir := t.TempDir()
	cache, sec, pub := filepath.Join(dir, "cache"), filepath.Join(dir, "key.sec"), filepath.Join(dir, "key.pub")
	if out, err := runLog(ctx, bed, "nix-store", "--generate-binary-cache-key", "vanilla-test-1", sec, pub); err != nil {
		t.Fatal(err, out)
	}
	pubKey, err := os.ReadFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	url := "file://" + cache
	copyArgs := append([]string{"--extra-experimental-features", "nix-command", "copy", "--to", url + "?secret-key=" + sec}, pushed...)
	if out, err := runLog(ctx, bed, "nix", copyArgs...); err != nil {
		t.Fatal(err, out)
	}
	withCache := bed.With(fmt.Sprintf("substituters = %s\ntrusted-public-keys = %s\n", url, strings.TrimSpace(string(pubKey))))

	for _, tt := range []struct {
		change, override string
		built            []string // stages built
	}{
		{"postFixup", `{ postFixup = "echo binary cache"; }`, []string{"final"}},
		{"postInstall", `{ postInstall = "echo binary cache"; }`, []string{"unwrapped", "final"}},
	} {
		t.Run(tt.change, func(t *testing.T) {
			// The build's roots gone, the stages are garbage: delete them
			// (the base's final output too, which nothing needs).
			if err := os.RemoveAll(roots); err != nil {
				t.Fatal(err)
			}
			deletePaths(t, ctx, bed, append(pushed, mapValues(s.Final)...)...)

			expr := stampedExpr("make-baked", stamp, tt.override)
			v := stagePathsOf(t, expr)
			if v.VanillaDrv != s.VanillaDrv {
				t.Fatalf("a %s change changed the vanilla stage", tt.change)
			}
			dry, err := runLog(ctx, withCache, "nix-build", "--dry-run", "-E", expr)
			if err != nil {
				t.Fatal(err)
			}
			built, fetched := dryRunLists(dry)
			t.Logf("dry run: built %v, fetched %v", built, fetched)
			want := map[string]string{"vanilla": v.VanillaDrv, "unwrapped": v.UnwrappedDrv, "final": v.FinalDrv}
			if len(built) != len(tt.built) {
				t.Errorf("would build %v, want the %v stages", built, tt.built)
			}
			for _, stage := range tt.built {
				if !contains(built, want[stage]) {
					t.Errorf("would not build the %s stage %s: %v", stage, want[stage], built)
				}
			}
			needed := v.Vanilla["checkpoint"]
			if tt.change == "postFixup" {
				needed = v.Unwrapped["checkpoint"]
			}
			if !contains(fetched, needed) {
				t.Errorf("would not fetch %s: %v", needed, fetched)
			}

			drv, err := withCache.Instantiate(ctx, "-E", expr)
			if err != nil {
				t.Fatal(err)
			}
			log, err := runLog(ctx, withCache, "nix-store", "--realise", drv, "--add-root", filepath.Join(t.TempDir(), "result"), "--indirect")
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(log, "\n") {
				if strings.HasPrefix(line, "copying path") {
					t.Log(line)
				}
			}
			if want := fmt.Sprintf("copying path '%s' from '%s'", needed, url); !strings.Contains(log, want) {
				t.Errorf("the build log lacks %q:\n%s", want, log)
			}
			if strings.Contains(log, fmt.Sprintf("building '%s'", v.VanillaDrv)) {
				t.Errorf("the vanilla stage was built:\n%s", log)
			}
			if strings.Contains(log, "Running phase: buildPhase") || strings.Contains(log, "-o greet greet.c") {
				t.Errorf("something was compiled again:\n%s", log)
			}
			// The next round deletes what this one fetched.
			s, pushed = v, mapValues(v.Vanilla, v.Unwrapped)
			pushed = valid(ctx, pushed...)
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestCheckpointSurvivesGC: what keeps a checkpoint from the garbage
// collector (docs/garbage-collection.md). `nix-store --delete` decides
// what is alive as the collector does, for the paths given only, so the
// test never collects the rest of the store.
//
//   - keep-outputs = true with a root for the final package's .drv keeps
//     every stage's outputs (the stages' .drv files are in its closure);
//   - a root per checkpoint (`nix-build -A pkg.vanilla -o result-vanilla`,
//     which makes result-vanilla-checkpoint) keeps that checkpoint: once the rest is collected, a postInstall
//     change builds the unwrapped and final stages and no compile.
func TestCheckpointSurvivesGC(t *testing.T) {
	ctx := context.Background()
	stamp := fmt.Sprintf("gc-%d", time.Now().UnixNano())
	base := stampedExpr("make-baked", stamp, "{ }")
	roots := t.TempDir()
	if _, err := bed.Build(ctx, roots, "-E", base); err != nil {
		t.Fatal(err)
	}
	s := stagePathsOf(t, base)
	checkpoint := s.Vanilla["checkpoint"]

	// The checkpoint's size and closure (what pushing it carries).
	info, err := runLog(ctx, bed, "nix", "--extra-experimental-features", "nix-command", "path-info", "-sS", checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	closure, err := bed.run(ctx, "nix-store", "-qR", checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("checkpoint (nar size, closure size): %s; %d paths in its closure", strings.TrimSpace(info), len(strings.Fields(closure)))

	// keep-outputs and a root for the final .drv.
	drvRoots := t.TempDir()
	if _, err := bed.run(ctx, "nix-instantiate", "--add-root", filepath.Join(drvRoots, "drv"), "--indirect", "-E", base); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(roots); err != nil {
		t.Fatal(err)
	}
	keep := bed.With("keep-outputs = true\n")
	if out, err := runLog(ctx, keep, "nix-store", "--delete", checkpoint); err == nil || !strings.Contains(out, "still alive") {
		t.Errorf("with keep-outputs and the .drv rooted, deleting the checkpoint: %v\n%s", err, out)
	}

	// A root for the checkpoint alone.
	link := filepath.Join(t.TempDir(), "result-vanilla")
	if out, err := runLog(ctx, bed, "nix-build", "-E", base, "-A", "vanilla", "-o", link); err != nil {
		t.Fatal(err, out)
	}
	// Nix 2.8's nix-build names the link after the output when it is not
	// out: result-vanilla-checkpoint.
	if got, err := os.Readlink(link + "-checkpoint"); err != nil || got != checkpoint {
		t.Fatalf("result-vanilla-checkpoint is %q (%v), want the checkpoint %s", got, err, checkpoint)
	}
	if err := os.RemoveAll(drvRoots); err != nil {
		t.Fatal(err)
	}
	if out, err := runLog(ctx, bed, "nix-store", "--delete", checkpoint); err == nil || !strings.Contains(out, "still alive") {
		t.Errorf("with result-vanilla, deleting the checkpoint: %v\n%s", err, out)
	}
	// Everything else of the build is garbage.
	deletePaths(t, ctx, bed, mapValues(s.Unwrapped, s.Final)...)

	expr := stampedExpr("make-baked", stamp, `{ postInstall = "echo after gc"; }`)
	v := stagePathsOf(t, expr)
	drvs, err := bed.WouldBuild(ctx, "-E", expr)
	if err != nil {
		t.Fatal(err)
	}
	if len(drvs) != 2 || contains(drvs, v.VanillaDrv) {
		t.Errorf("after collecting all but the checkpoint, a postInstall change would build %v, want the unwrapped and final stages", drvs)
	}
	drv, err := bed.Instantiate(ctx, "-E", expr)
	if err != nil {
		t.Fatal(err)
	}
	log, err := runLog(ctx, bed, "nix-store", "--realise", drv, "--add-root", filepath.Join(t.TempDir(), "result"), "--indirect")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(log, "-o greet greet.c") || strings.Contains(log, fmt.Sprintf("building '%s'", v.VanillaDrv)) {
		t.Errorf("the build compiled again:\n%s", log)
	}
}
