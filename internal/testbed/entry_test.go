package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// LocalNixpkgs is the nixpkgs the tests give the flake as its nixpkgs
// input (root's channel; docs/test-bed.md, "The flake").
const LocalNixpkgs = "/nix/var/nix/profiles/per-user/root/channels/nixpkgs"

// entryExpr is the classic entry point (default.nix at the top) over the
// test bed's package set, as `e`, with `pkgs` in scope, around body.
func entryExpr(body string) string {
	return fmt.Sprintf(`let
  pkgs = import %q { };
  e = import %q { inherit pkgs; };
  fixtures = import %q { inherit pkgs; };
in %s`, bed.Path("nix/host-pkgs.nix"), bed.Root, bed.Path("testdata/fixtures"), body)
}

// TestEntryClassic evaluates and builds through `import ./. { pkgs = …; }`:
// its pieces are those of nix/, its overlay and its resumable split a
// package as the fixtures' overlay does, and its withVanillaHook adds the
// hook.
func TestEntryClassic(t *testing.T) {
	ctx := context.Background()
	out, err := bed.Eval(ctx, entryExpr(fmt.Sprintf(`let
  n = import %q { inherit pkgs; };
  overlaid = import %q { overlays = [ e.overlay ]; };
  split = e.resumable (fixtures.make-baked.overrideAttrs { vanillaPackage = true; });
  viaOverlay = (import %q { split = true; }).make-baked;
  hooked = fixtures.make-baked.override { stdenv = e.withVanillaHook pkgs.stdenv; };
in {
  names = builtins.attrNames e;
  helper = e.helper.drvPath == n.helper.drvPath;
  hook = e.vanillaHook.drvPath == n.vanillaHook.drvPath;
  overlayHelper = overlaid.vanilla-helper.drvPath == e.helper.drvPath;
  overlayHook = overlaid.vanillaHook.drvPath == e.vanillaHook.drvPath;
  stdenv = e.vanillaStdenv.drvPath == n.vanillaStdenv.drvPath;
  overlayStdenv = overlaid.vanillaStdenv.drvPath == e.vanillaStdenv.drvPath;
  final = split.drvPath == viaOverlay.drvPath;
  vanilla = split.vanilla.drvPath == viaOverlay.vanilla.drvPath;
  unwrapped = split.unwrapped.drvPath == viaOverlay.unwrapped.drvPath;
  withHook = builtins.any (x: (x.name or "") == "vanilla-hook") hooked.nativeBuildInputs;
}`, bed.Path("nix"), bed.Path("nix/host-pkgs.nix"), bed.Path("testdata/fixtures"))))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Names []string `json:"names"`
		Rest  map[string]any
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if want := "helper overlay resumable vanillaHook vanillaStdenv withVanillaHook"; strings.Join(got.Names, " ") != want {
		t.Errorf("default.nix has %v, want %s", got.Names, want)
	}
	if err := json.Unmarshal([]byte(out), &got.Rest); err != nil {
		t.Fatal(err)
	}
	for k, v := range got.Rest {
		if k != "names" && v != true {
			t.Errorf("%s: got %v, want true", k, v)
		}
	}

	// The split built through the entry point passes the fixture's checks.
	outs, err := bed.Build(ctx, t.TempDir(), "-E", entryExpr(`e.resumable (fixtures.make-baked.overrideAttrs { vanillaPackage = true; })`))
	if err != nil {
		t.Fatal(err)
	}
	if err := bed.Check(ctx, "make-baked", outs); err != nil {
		t.Fatal(err)
	}
}

// TestHelperVersionStatic builds the helper through default.nix: `vanilla
// version` prints helper.nix's version, and the binary is static, its
// closure itself.
func TestHelperVersionStatic(t *testing.T) {
	ctx := context.Background()
	version, err := bed.Eval(ctx, entryExpr(`e.helper.version`))
	if err != nil {
		t.Fatal(err)
	}
	outs, err := bed.Build(ctx, t.TempDir(), "-E", entryExpr(`e.helper`))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(outs["out"], "bin", "vanilla")
	got, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "vanilla " + strings.Trim(version, `"`) + "\n"; string(got) != want {
		t.Errorf("vanilla version printed %q, want %q", got, want)
	}
	file, err := exec.Command("file", "-b", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(file), "statically linked") {
		t.Errorf("file says %s", file)
	}
	closure, err := bed.run(ctx, "nix-store", "-qR", outs["out"])
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(closure) != outs["out"] {
		t.Errorf("the helper's closure is not itself:\n%s", closure)
	}
}

// TestHelperNeedsGo126: without a Go 1.26, evaluating the helper stops
// with a message that says which nixpkgs is needed; a go_1_26 builder is
// taken when `go` is older.
func TestHelperNeedsGo126(t *testing.T) {
	ctx := context.Background()
	helper := bed.Path("nix/helper.nix")
	_, err := bed.Eval(ctx, fmt.Sprintf(`(import %q {
  lib = import <nixpkgs/lib>; go = { version = "1.22.4"; }; buildGoModule = args: args.pname;
}).drvPath`, helper))
	if err == nil || !strings.Contains(err.Error(), "the helper needs Go 1.26 or later (go.mod), but this package set's go is 1.22.4") {
		t.Errorf("evaluating with Go 1.22: %v", err)
	}
	got, err := bed.Eval(ctx, fmt.Sprintf(`import %q {
  lib = import <nixpkgs/lib>; go = { version = "1.22.4"; };
  buildGoModule = args: "old"; buildGo126Module = args: "new";
}`, helper))
	if err != nil || got != `"new"` {
		t.Errorf("with buildGo126Module: %s, %v", got, err)
	}
}

// TestPassthruStages: the stages are `pkg.vanilla` and
// `pkg.passthru.vanilla` alike (and `.unwrapped`), for the package and
// its outputs, and nix-instantiate -A reaches both.
func TestPassthruStages(t *testing.T) {
	ctx := context.Background()
	out, err := bed.Eval(ctx, fmt.Sprintf(`let p = (import %q { split = true; }).multi-output; in [
  (p.vanilla.drvPath == p.passthru.vanilla.drvPath)
  (p.unwrapped.drvPath == p.passthru.unwrapped.drvPath)
  (p.dev.passthru.vanilla.drvPath == p.vanilla.drvPath)
  (p.passthru.vanilla.drvPath != p.drvPath)
]`, bed.Path("testdata/fixtures")))
	if err != nil {
		t.Fatal(err)
	}
	if out != "[true,true,true,true]" {
		t.Errorf("got %s", out)
	}
	for _, stage := range []string{"vanilla", "unwrapped"} {
		a, err := bed.Instantiate(ctx, append(fixtureArgs("multi-output", true)[:4], "-A", "multi-output."+stage)...)
		if err != nil {
			t.Fatal(err)
		}
		b, err := bed.Instantiate(ctx, append(fixtureArgs("multi-output", true)[:4], "-A", "multi-output.passthru."+stage)...)
		if err != nil {
			t.Fatal(err)
		}
		if a != b || a == "" {
			t.Errorf("-A multi-output.%s is %q, -A multi-output.passthru.%[1]s %q", stage, a, b)
		}
	}
}

// flake runs `nix` on the checkout as a flake (a path: flake, so that
// files not yet committed count), with its nixpkgs input overridden to the
// local one and the test bed selected (--impure, VANILLA_TEST_BED=1).
func flake(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "nix", append([]string{
		"--extra-experimental-features", "nix-command flakes",
	}, args...)...)
	cmd.Env = append(bed.Env(), "VANILLA_TEST_BED=1")
	cmd.Dir = bed.Root
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("nix %s: %w\n%s", strings.Join(args, " "), err, tail(stderr.String(), 30))
	}
	return stdout.String(), nil
}

func flakeRef(attr string) string { return "path:" + bed.Root + "#" + attr }

var overrideNixpkgs = []string{"--impure", "--override-input", "nixpkgs", "path:" + LocalNixpkgs}

// TestEntryFlake evaluates and builds through flake.nix: its helper is
// the classic entry point's derivation, its lib takes a package set, and
// its checks (split fixtures) and helper build.
func TestEntryFlake(t *testing.T) {
	if _, err := exec.LookPath("nix"); err != nil {
		t.Skip("no nix command")
	}
	ctx := context.Background()
	system, err := bed.Eval(ctx, "builtins.currentSystem")
	if err != nil {
		t.Fatal(err)
	}
	system = strings.Trim(system, `"`)

	drv, err := flake(ctx, append([]string{"eval", "--raw", flakeRef("packages." + system + ".default.drvPath")}, overrideNixpkgs...)...)
	if err != nil {
		t.Fatal(err)
	}
	classic, err := bed.Instantiate(ctx, "-E", entryExpr("e.helper"))
	if err != nil {
		t.Fatal(err)
	}
	if drv != classic {
		t.Errorf("the flake's helper is %s, default.nix's %s", drv, classic)
	}

	lib, err := flake(ctx, append([]string{"eval", "--json", flakeRef("lib"), "--apply", fmt.Sprintf(
		`l: let pkgs = import %q { }; in {
  names = builtins.attrNames l;
  resumable = builtins.isFunction (l.resumable pkgs);
  withVanillaHook = builtins.isFunction (l.withVanillaHook pkgs);
  vanillaStdenv = (l.vanillaStdenv pkgs).drvPath == (import %[2]q { inherit pkgs; }).vanillaStdenv.drvPath;
  overlay = builtins.isFunction (import %[2]q { inherit pkgs; }).overlay;
}`, bed.Path("nix/host-pkgs.nix"), bed.Root)}, overrideNixpkgs...)...)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"names":["resumable","vanillaHook","vanillaStdenv","withVanillaHook"],"overlay":true,"resumable":true,"vanillaStdenv":true,"withVanillaHook":true}`; strings.TrimSpace(lib) != want {
		t.Errorf("flake lib: %s, want %s", lib, want)
	}

	checks, err := flake(ctx, append([]string{"eval", "--json", flakeRef("checks." + system), "--apply", "builtins.attrNames"}, overrideNixpkgs...)...)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	if err := json.Unmarshal([]byte(checks), &names); err != nil {
		t.Fatal(err)
	}
	if len(names) < 2 {
		t.Fatalf("checks: %v", names)
	}
	refs := []string{flakeRef("default")}
	for _, n := range names {
		refs = append(refs, flakeRef("checks."+system+"."+n))
	}
	built, err := flake(ctx, append(append([]string{"build", "--no-link", "--json"}, refs...), overrideNixpkgs...)...)
	if err != nil {
		t.Fatal(err)
	}
	var results []struct {
		Outputs map[string]string `json:"outputs"`
	}
	if err := json.Unmarshal([]byte(built), &results); err != nil {
		t.Fatal(err)
	}
	if len(results) != len(refs) {
		t.Fatalf("built %d of %d: %s", len(results), len(refs), built)
	}
	for _, r := range results {
		if _, err := os.Stat(r.Outputs["out"]); err != nil {
			t.Error(err)
		}
	}
}
