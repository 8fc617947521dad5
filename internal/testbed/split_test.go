package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nix-vanilla/nix-vanilla/pkg/checkpoint"
)

// fixtureArgs are nix-build arguments for a fixture, plain or split.
func fixtureArgs(name string, split bool) []string {
	return []string{bed.Path("testdata/fixtures"), "--arg", "split", fmt.Sprint(split), "-A", name}
}

// compareBuilds builds a package plain and split (nix-build arguments for
// each), fails the test on any difference between their outputs, and
// returns the split build's outputs and the comparison.
func compareBuilds(t *testing.T, b *Bed, plainArgs, splitArgs []string) (Outputs, *Comparison) {
	t.Helper()
	ctx := context.Background()
	plain, err := b.Build(ctx, t.TempDir(), plainArgs...)
	if err != nil {
		t.Fatal(err)
	}
	split, err := b.Build(ctx, t.TempDir(), splitArgs...)
	if err != nil {
		t.Fatal(err)
	}
	c, err := CompareOutputs(plain, split)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range c.Differences {
		t.Errorf("split and plain builds differ: %s", d)
	}
	return split, c
}

// TestSplitEquivalence builds every fixture plain and split, and compares
// their outputs byte for byte after mapping store paths. Only the GNU
// build-id note may differ (it hashes the output path; see
// TestBuildIDsRecomputed), and the test reports how many files differ there.
func TestSplitEquivalence(t *testing.T) {
	names, err := bed.Fixtures()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			split, c := compareBuilds(t, bed, fixtureArgs(name, false), fixtureArgs(name, true))
			if err := bed.Check(context.Background(), name, split); err != nil {
				t.Fatal(err)
			}
			if _, _, err := machOSignatures(split); err != nil {
				t.Error(err)
			}
			t.Logf("%d files equal, %d of them but for the build-id note, %d only once decompressed, %d but for LC_UUID (%d page hashes left out)",
				c.Files, c.BuildIDOnly, c.GzipOnly, c.UUIDOnly, c.UUIDHashes)
		})
	}
}

// TestMachOSignatures builds the macho fixture plain and split: every
// Mach-O file it installs has all its slices signed, and every page hash
// verifies (pkg/codesign's verifier, no Apple tool), in both builds. The
// split build's files are equal to the plain build's but for LC_UUID.
func TestMachOSignatures(t *testing.T) {
	plain, err := bed.Build(context.Background(), t.TempDir(), fixtureArgs("macho", false)...)
	if err != nil {
		t.Fatal(err)
	}
	split, c := compareBuilds(t, bed, fixtureArgs("macho", false), fixtureArgs("macho", true))
	for _, outs := range []Outputs{plain, split} {
		files, signed, err := machOSignatures(outs)
		if err != nil {
			t.Error(err)
		}
		// hello-arm64, hello-x86_64, libgreet.dylib,
		// libgreet-x86_64.dylib, and the two universal files' two
		// slices each.
		if files != 6 || signed != 8 {
			t.Errorf("%s: %d Mach-O files with %d signed slices, want 6 and 8", outs["out"], files, signed)
		}
	}
	if c.UUIDOnly != 6 {
		t.Errorf("%d Mach-O files differ from the plain build's by their UUIDs, want 6 (lld makes a new UUID at every link)", c.UUIDOnly)
	}
	t.Logf("%d Mach-O files equal but for LC_UUID, %d page hashes left out of the comparison", c.UUIDOnly, c.UUIDHashes)
}

// TestBuildIDsRecomputed checks the build-ids themselves on unstripped
// binaries: the split build's must be the one ld would have written for
// its output path, which is what the plain build's id becomes once its
// paths are mapped and the id is recomputed.
func TestBuildIDsRecomputed(t *testing.T) {
	ctx := context.Background()
	unstripped := func(split bool) string {
		return fmt.Sprintf(`(import %q { split = %v; }).make-baked.overrideAttrs { dontStrip = true; }`,
			bed.Path("testdata/fixtures"), split)
	}
	plain, err := bed.Build(ctx, t.TempDir(), "-E", unstripped(false))
	if err != nil {
		t.Fatal(err)
	}
	split, err := bed.Build(ctx, t.TempDir(), "-E", unstripped(true))
	if err != nil {
		t.Fatal(err)
	}
	c, err := compareRecomputed(plain, split)
	if err != nil {
		t.Fatal(err)
	}
	if c.Files == 0 || c.BuildIDOnly != 0 || len(c.Differences) != 0 {
		t.Errorf("after recomputing the plain build's ids: %+v", c)
	}
}

// stageDrvs returns the derivation paths of the three stages of a split
// package given as a Nix expression.
func stageDrvs(t *testing.T, expr string) map[string]string {
	t.Helper()
	out, err := bed.Eval(context.Background(), fmt.Sprintf(
		`let p = %s; in { vanilla = p.vanilla.drvPath; unwrapped = p.unwrapped.drvPath; final = p.drvPath; }`, expr))
	if err != nil {
		t.Fatal(err)
	}
	var drvs map[string]string
	if err := json.Unmarshal([]byte(out), &drvs); err != nil {
		t.Fatal(err)
	}
	return drvs
}

// splitExpr is a split fixture with an override applied; pkgs is in scope.
func splitExpr(fixture, override string) string {
	return fmt.Sprintf(`(let
  pkgs = import %q { overlays = [ (import %q) ]; };
  p = (import %q { split = true; inherit pkgs; }).%s;
in p.overrideAttrs (%s))`,
		bed.Path("nix/host-pkgs.nix"), bed.Path("nix/overlay.nix"), bed.Path("testdata/fixtures"), fixture, override)
}

// TestStagesRebuilt checks, by derivation paths, which stages a change to
// a split package rebuilds.
func TestStagesRebuilt(t *testing.T) {
	final := []string{"final"}
	install := []string{"final", "unwrapped"}
	all := []string{"final", "unwrapped", "vanilla"}
	tests := []struct {
		change, override string
		rebuilt          []string
	}{
		{"postFixup", `{ postFixup = "echo changed"; }`, final},
		{"preFixup", `{ preFixup = "echo changed"; }`, final},
		{"dontStrip", `{ dontStrip = true; }`, final},
		{"meta", `{ meta.description = "changed"; }`, nil},
		{"passthru", `{ passthru.extra = 1; }`, nil},
		{"makeWrapper added", `old: { nativeBuildInputs = old.nativeBuildInputs or [ ] ++ [ pkgs.makeWrapper ]; }`, final},
		{"makeBinaryWrapper added", `old: { nativeBuildInputs = old.nativeBuildInputs or [ ] ++ [ pkgs.makeBinaryWrapper ]; }`, final},
		{"installShellFiles added", `old: { nativeBuildInputs = old.nativeBuildInputs or [ ] ++ [ pkgs.installShellFiles ]; }`, final},
		{"copyDesktopItems added", `old: { nativeBuildInputs = old.nativeBuildInputs or [ ] ++ [ pkgs.copyDesktopItems ]; }`, final},
		{"wrapper in postFixup", `old: { nativeBuildInputs = old.nativeBuildInputs or [ ] ++ [ pkgs.makeWrapper ]; postFixup = "wrapProgram $out/bin/greet --set A b"; }`, final},
		{"wrapper in postInstall", `old: { nativeBuildInputs = old.nativeBuildInputs or [ ] ++ [ pkgs.makeWrapper ]; postInstall = "wrapProgram $out/bin/greet --set A b"; }`, install},
		// A final stage that reads the build tree needs the unwrapped
		// stage to save it.
		{"doInstallCheck", `{ doInstallCheck = true; }`, install},
		{"vanillaFinalTree", `{ vanillaFinalTree = true; }`, install},
		{"doInstallCheck false", `{ doInstallCheck = false; }`, nil},
		{"postBuild", `{ postBuild = "echo changed"; }`, install},
		{"checkPhase", `{ checkPhase = "echo changed"; }`, install},
		{"installPhase", `{ installPhase = "make install PREFIX=$out"; }`, install},
		{"installFlags", `{ installFlags = [ "V=1" ]; }`, install},
		{"installTargets", `{ installTargets = "install"; }`, install},
		{"preInstall", `{ preInstall = "echo changed"; }`, install},
		{"postInstall", `{ postInstall = "echo changed"; }`, install},
		{"preBuild", `{ preBuild = "echo changed"; }`, all},
		{"makeFlags", `old: { makeFlags = old.makeFlags ++ [ "V=1" ]; }`, all},
		{"doCheck", `{ doCheck = true; }`, all},
		{"an unknown attribute", `{ somethingNew = "x"; }`, all},
		// A custom phase's body belongs to its phase's stage.
		{"a preInstallPhases body", `{ preInstallPhases = [ "docPhase" ]; docPhase = "echo changed"; }`, install},
		{"a postPhases body", `{ postPhases = [ "stampPhase" ]; stampPhase = "echo changed"; }`, final},
		// What an early attribute calls is early: makeWrapper in preBuild.
		{"makeWrapper called in preBuild", `old: { nativeBuildInputs = old.nativeBuildInputs or [ ] ++ [ pkgs.makeWrapper ]; preBuild = "makeWrapper /bin/sh w"; }`, all},
		// With doCheck, the plain build has the check inputs on PATH from
		// configure on.
		{"nativeCheckInputs with doCheck", `{ doCheck = true; nativeCheckInputs = [ pkgs.makeWrapper ]; }`, all},
		{"nativeCheckInputs without doCheck", `{ nativeCheckInputs = [ pkgs.makeWrapper ]; }`, nil},
	}
	base := stageDrvs(t, splitExpr("make-baked", "{ }"))
	for _, tt := range tests {
		t.Run(tt.change, func(t *testing.T) {
			got := stageDrvs(t, splitExpr("make-baked", tt.override))
			var rebuilt []string
			for _, stage := range []string{"final", "unwrapped", "vanilla"} {
				if got[stage] != base[stage] {
					rebuilt = append(rebuilt, stage)
				}
			}
			if !slices.Equal(rebuilt, tt.rebuilt) {
				t.Errorf("changing %s rebuilds %v, want %v", tt.change, rebuilt, tt.rebuilt)
			}
		})
	}
}

// TestUnwrappedTree builds split packages and reads their unwrapped
// stage's checkpoint: it holds the build tree only when the final stage
// restores it (doInstallCheck, vanillaFinalTree), and the final stage then
// builds.
func TestUnwrappedTree(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		override string
		tree     bool
	}{
		{`{ }`, false},
		{`{ doInstallCheck = true; }`, true},
		{`{ vanillaFinalTree = true; postFixup = "test -f $NIX_BUILD_TOP/$sourceRoot/greet.c"; }`, true},
	} {
		t.Run(tt.override, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := bed.Build(ctx, dir, "-E", splitExpr("make-baked", tt.override)); err != nil {
				t.Fatal(err)
			}
			outs, err := bed.Build(ctx, dir, "-E", "("+splitExpr("make-baked", tt.override)+").unwrapped")
			if err != nil {
				t.Fatal(err)
			}
			m, err := checkpoint.ReadManifest(outs["checkpoint"])
			if err != nil {
				t.Fatal(err)
			}
			if m.Tree != tt.tree || (m.OutputsPart != nil) != tt.tree {
				t.Errorf("the unwrapped checkpoint has a tree: %v (outputs part %+v), want %v", m.Tree, m.OutputsPart, tt.tree)
			}
		})
	}
}

// TestDryRun builds a split package, then asks nix-build --dry-run what a
// late change would build.
func TestDryRun(t *testing.T) {
	ctx := context.Background()
	if _, err := bed.Build(ctx, t.TempDir(), "-E", splitExpr("multi-output", "{ }")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		override string
		want     int
	}{
		{`{ postFixup = "echo dry run"; }`, 1},
		{`{ postInstall = "echo dry run"; }`, 2},
		{`{ }`, 0},
	} {
		drvs, err := bed.WouldBuild(ctx, "-E", splitExpr("multi-output", tt.override))
		if err != nil {
			t.Fatal(err)
		}
		if len(drvs) != tt.want {
			t.Errorf("%s: nix-build --dry-run would build %v, want %d derivations", tt.override, drvs, tt.want)
		}
	}
}

// TestOverlayIsZeroCost checks that the overlay leaves every package
// without the flag exactly as it was.
func TestOverlayIsZeroCost(t *testing.T) {
	out, err := bed.Eval(context.Background(), fmt.Sprintf(`
let
  plain = import %[1]q { };
  overlaid = import %[1]q { overlays = [ (import %[2]q) ]; };
  drvs = fx: builtins.mapAttrs (_: p: p.drvPath) fx;
in {
  plain = drvs plain // { stdenv = (import %[3]q { }).stdenv.drvPath; };
  overlaid = drvs overlaid // { stdenv = (import %[3]q { overlays = [ (import %[2]q) ]; }).stdenv.drvPath; };
}`, bed.Path("testdata/fixtures"), bed.Path("nix/overlay.nix"), bed.Path("nix/host-pkgs.nix")))
	if err != nil {
		t.Fatal(err)
	}
	var drvs struct{ Plain, Overlaid map[string]string }
	if err := json.Unmarshal([]byte(out), &drvs); err != nil {
		t.Fatal(err)
	}
	if len(drvs.Plain) < 11 {
		t.Fatalf("only %d derivations compared", len(drvs.Plain))
	}
	for name, drv := range drvs.Plain {
		if drvs.Overlaid[name] != drv {
			t.Errorf("%s: %s with the overlay, %s without", name, drvs.Overlaid[name], drv)
		}
	}
}

// TestForms checks the ways to ask for a split: overrideAttrs on a package
// made without the flag, the finalAttrs form, and the function form
// without the overlay, which must give the same derivations as the overlay.
func TestForms(t *testing.T) {
	ctx := context.Background()
	hostPkgs, overlay, fixtures := bed.Path("nix/host-pkgs.nix"), bed.Path("nix/overlay.nix"), bed.Path("testdata/fixtures")
	out, err := bed.Eval(ctx, fmt.Sprintf(`
let
  pkgs = import %[1]q { overlays = [ (import %[2]q) ]; };
  stock = import %[1]q { };
  byOverlay = (import %[3]q { inherit pkgs; }).make-baked.overrideAttrs { vanillaPackage = true; };
  byFunction = (import %[4]q { pkgs = stock; }).resumable
    ((import %[3]q { pkgs = stock; }).make-baked.overrideAttrs { vanillaPackage = true; });
  stillSplit = byOverlay.overrideAttrs { postInstall = "echo more"; };
in {
  overlayIsSplit = byOverlay ? vanilla;
  functionIsSplit = byFunction ? vanilla;
  sameVanilla = byOverlay.vanilla.drvPath == byFunction.vanilla.drvPath;
  sameFinal = byOverlay.drvPath == byFunction.drvPath;
  overrideStaysSplit = stillSplit ? vanilla && stillSplit.vanilla.drvPath == byOverlay.vanilla.drvPath;
}`, hostPkgs, overlay, fixtures, bed.Path("nix")))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]bool
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"overlayIsSplit", "functionIsSplit", "sameVanilla", "sameFinal", "overrideStaysSplit"} {
		if !got[k] {
			t.Errorf("%s is false", k)
		}
	}

	// The finalAttrs form, built and run.
	expr := fmt.Sprintf(`
let pkgs = import %q { overlays = [ (import %q) ]; }; in
pkgs.stdenv.mkDerivation (finalAttrs: {
  pname = "final-attrs";
  version = "2.0";
  vanillaPackage = true;
  src = %s;
  dontUnpack = true;
  buildPhase = "$CC -o hello $src";
  installPhase = "install -Dm755 hello $out/bin/hello; echo ${finalAttrs.pname} ${finalAttrs.version} > $out/name";
})`, hostPkgs, overlay, bed.Path("testdata/fixtures/single-file/hello.c"))
	outs, err := bed.Build(ctx, t.TempDir(), "-E", expr)
	if err != nil {
		t.Fatal(err)
	}
	run, err := exec.Command(outs["out"] + "/bin/hello").Output()
	if err != nil || string(run) != "hello from a single file\n" {
		t.Errorf("hello: %q, %v", run, err)
	}
	if isSplit, _ := bed.Eval(ctx, "("+expr+") ? vanilla"); isSplit != "true" {
		t.Errorf("the finalAttrs form is not split")
	}
}

// TestUnsplittable checks that a package that cannot be split builds as it
// is, with one warning.
func TestUnsplittable(t *testing.T) {
	expr := fmt.Sprintf(`
let pkgs = import %q { overlays = [ (import %q) ]; }; in
pkgs.stdenv.mkDerivation { name = "one-piece"; vanillaPackage = true; buildCommand = "echo whole > $out"; }`,
		bed.Path("nix/host-pkgs.nix"), bed.Path("nix/overlay.nix"))
	cmd := exec.Command("nix-instantiate", "-E", expr)
	cmd.Env = bed.Env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if n := strings.Count(string(out), "building one-piece unsplit: it sets buildCommand"); n != 1 {
		t.Errorf("warning printed %d times:\n%s", n, out)
	}
	outs, err := bed.Build(context.Background(), t.TempDir(), "-E", expr)
	if err != nil {
		t.Fatal(err)
	}
	if outs["out"] == "" {
		t.Errorf("no output")
	}
}

// TestUpToDateAfterRestore has the unwrapped stage, right after the
// restore, ask the build tool whether anything is out of date.
//
// Automake's Makefiles are never quiet under make -q (config.h has a
// recipe that runs whenever stamp-h1 is newer, as it is in any finished
// tree), so for them the checkpointed build records what `make -n` says at
// the end of buildPhase, and the restored tree must say exactly the same
// and run no compiler.
func TestUpToDateAfterRestore(t *testing.T) {
	const recordMakeN = `buildPhase = "runHook preBuild; make -j$NIX_BUILD_CORES; make -n > make-n.orig; runHook postBuild";`
	tests := []struct{ fixture, early, check string }{
		{"make-baked", "", `make -q || { echo "make -q: the restored tree is out of date"; exit 1; }`},
		{"autotools-libtool", recordMakeN, `make -n > make-n.restored; diff -u make-n.orig make-n.restored; ! grep -E -e '--mode=(compile|link)' make-n.restored`},
		{"cmake-ninja", "", `ninja -n | tee ninja.out; grep -q "no work to do" ninja.out`},
		{"meson", "", `ninja -n | tee ninja.out; grep -q "no work to do" ninja.out`},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			override := fmt.Sprintf(`{ %s postBuild = %q; }`, tt.early, tt.check)
			if _, err := bed.Build(context.Background(), t.TempDir(), "-E", splitExpr(tt.fixture, override)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSandboxOff builds fixtures split and plain with the sandbox off,
// where the build directory is under $TMPDIR instead of /build and moves
// between stages (as on darwin, whose builders mostly run without one),
// and compares them: a CMake project, and the Mach-O files of the macho
// fixture, whose signatures must verify there too.
func TestSandboxOff(t *testing.T) {
	off := bed.With("sandbox = false")
	for _, name := range []string{"cmake-ninja", "macho"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// A marker attribute gives derivations the sandboxed tests
			// have not built already.
			expr := func(split bool) string {
				return fmt.Sprintf(`(import %q { split = %v; }).%s.overrideAttrs { sandboxOff = true; }`, bed.Path("testdata/fixtures"), split, name)
			}
			split, _ := compareBuilds(t, off, []string{"-E", expr(false)}, []string{"-E", expr(true)})
			if err := bed.Check(context.Background(), name, split); err != nil {
				t.Fatal(err)
			}
			if _, _, err := machOSignatures(split); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestVariants builds fixtures with attributes that move work between
// stages, plain and split, and compares them.
func TestVariants(t *testing.T) {
	tests := []struct{ name, fixture, override string }{
		{"dontInstall", "writes-out-in-build", `{ dontInstall = true; }`},
		{"dontBuild", "make-baked", `{ dontBuild = true; }`},
		{"postBuild writes an output", "make-baked", `{ postBuild = "mkdir -p $out/share; echo built > $out/share/post-build"; }`},
		{"doCheck with cmake", "cmake-ninja", `{ doCheck = true; }`},
		{"late input used in postInstall", "make-baked", `old: { nativeBuildInputs = old.nativeBuildInputs or [ ] ++ [ pkgs.makeWrapper ]; postInstall = "wrapProgram $out/bin/greet --set GREETING hi"; }`},
		{"late install hook", "make-baked", `old: { nativeBuildInputs = old.nativeBuildInputs or [ ] ++ [ pkgs.copyDesktopItems ]; desktopItems = [ ]; postInstall = "mkdir -p $out/share/applications"; }`},
		{"function from preConfigure in postFixup", "make-baked", `{ preConfigure = "greetDir() { echo $out/share/greet; }"; postFixup = "echo $(greetDir) > $out/share/where"; }`},
		// Phases a setup hook chose during configure (meson's install
		// phase, which honours mesonInstallTags) survive the replay.
		{"meson install tags", "meson", `{ mesonInstallTags = [ "runtime" ]; mesonInstallFlags = [ "--no-rebuild" ]; }`},
		// What early phases did to a variable Nix sets reaches the later
		// stages.
		{"HOME exported in preConfigure", "make-baked", `{ preConfigure = "export HOME=$TMPDIR/home; mkdir -p $HOME"; postInstall = "echo $HOME > $out/share/home; test -d $HOME"; }`},
		{"makeWrapper called in preBuild", "make-baked", `old: { nativeBuildInputs = old.nativeBuildInputs or [ ] ++ [ pkgs.makeWrapper ]; preBuild = "makeWrapper /bin/sh greet-sh --set GREETING hi"; postInstall = "install -Dm755 greet-sh $out/bin/greet-sh"; }`},
		{"a preInstallPhases body", "make-baked", `{ preInstallPhases = [ "docPhase" ]; docPhase = "mkdir -p $out/share/doc; echo doc > $out/share/doc/greet.txt"; }`},
		{"pushd in preBuild, popd in postBuild", "make-baked", `{ preBuild = "pushd . >/dev/null"; postBuild = "popd >/dev/null; echo $PWD > where"; postInstall = "cp where $out/share/where"; }`},
		// The hook's own files are not in the build directory.
		{"the build directory's listing", "make-baked", `{ preBuild = "ls -A $NIX_BUILD_TOP > listing-build"; postInstall = "ls -A $NIX_BUILD_TOP > $out/share/listing-install; cp listing-build $out/share/"; }`},
		// Digests of a file naming $out, written by postInstall in the
		// unwrapped stage and checked by preFixup in the final one.
		{"b2sum and sha384sum lists", "make-baked", `{ postInstall = "mkdir -p $out/share; echo $out > $out/share/where; (cd $out && b2sum share/where > share/B2SUMS && sha384sum share/where > share/SHA384SUMS)"; preFixup = "(cd $out && b2sum -c share/B2SUMS && sha384sum -c share/SHA384SUMS)"; }`},
		// Installed outputs that refer to each other in a cycle, which
		// the plain build's fixupPhase breaks (lib/pkgconfig moves to dev).
		{"outputs in a cycle until fixupPhase", "multi-output", `{ postInstall = "mkdir -p $out/lib/pkgconfig $dev/share/cyc; echo includedir=$dev/include > $out/lib/pkgconfig/cyc.pc; echo prefix=$out > $dev/share/cyc/prefix"; }`},
		// A function exported in an early phase, for the bash processes
		// a later one starts.
		{"export -f in preBuild", "make-baked", `{ preBuild = "greetOne() { echo \"$1\" > \"$out/share/$1\"; }; export -f greetOne"; postInstall = "mkdir -p $out/share; printf '%s\n' a b | xargs -n1 bash -c 'greetOne \"$0\"'"; }`},
		{"readonly variable from preConfigure", "make-baked", `{ preConfigure = "declare -gr GREET_RO=early"; postInstall = "mkdir -p $out/share; declare -p GREET_RO > $out/share/ro"; }`},
		// Process state a phase sets for the phases after it.
		{"umask set in preConfigure", "make-baked", `{ preConfigure = "umask 0027"; postInstall = "umask > $out/share/umask; touch late; stat -c %a late > $out/share/late-mode"; }`},
		// Symlinks keep their times: the source's (a tarball's) and the build's.
		{"symlink times", "tarball", `{ postBuild = "cd ..; rm data/obsolete.txt; echo generated > data/generated.txt; ln -s data/n1 made-link; touch -h -d @1000000000 made-link"; postInstall = "stat -c '%Y %n' greet-link.c made-link > $out/share/link-times"; }`},
		{"commands after runHook postBuild", "make-baked", `{ buildPhase = "runHook preBuild\nmake PREFIX=$out\nrunHook postBuild\necho after > after.txt\n"; postBuild = "test ! -e after.txt && echo first > order.txt"; postInstall = "cp order.txt after.txt $out/share/greet/"; }`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			plainExpr := fmt.Sprintf(`(let pkgs = import %q { }; in (import %q { inherit pkgs; }).%s.overrideAttrs (%s))`,
				bed.Path("nix/host-pkgs.nix"), bed.Path("testdata/fixtures"), tt.fixture, tt.override)
			compareBuilds(t, bed, []string{"-E", plainExpr}, []string{"-E", splitExpr(tt.fixture, tt.override)})
		})
	}
}

// TestLargeEquivalence builds the bench's real-world packages from Debian
// source packages (binutils-source, openvswitch-source) plain and split and
// compares them. It takes minutes, so it runs only with VANILLA_LARGE=1.
func TestLargeEquivalence(t *testing.T) {
	if os.Getenv("VANILLA_LARGE") == "" {
		t.Skip("set VANILLA_LARGE=1 to build binutils and openvswitch plain and split")
	}
	tests := []struct {
		pkg, src, debian string
	}{
		{"binutils", "/usr/src/binutils/binutils-2.40.tar.xz", "binutils-source"},
		{"openvswitch", "/usr/src/openvswitch/openvswitch.tar.gz", "openvswitch-source"},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			if _, err := os.Stat(tt.src); err != nil {
				t.Fatalf("%v: apt-get install %s", err, tt.debian)
			}
			expr := func(overlays string) string {
				return fmt.Sprintf(`let pkgs = import %q { overlays = [ %s ]; }; in pkgs.callPackage %q { }`,
					bed.Path("nix/host-pkgs.nix"), overlays, bed.Path("bench/packages/"+tt.pkg+".nix"))
			}
			split := fmt.Sprintf(`(%s).overrideAttrs { vanillaPackage = true; }`, expr(fmt.Sprintf("(import %q)", bed.Path("nix/overlay.nix"))))
			_, c := compareBuilds(t, bed, []string{"-E", expr("")}, []string{"-E", split})
			t.Logf("%d files equal, %d of them but for the build-id note, %d only once decompressed", c.Files, c.BuildIDOnly, c.GzipOnly)
		})
	}
}

// TestCompressedLeftoverFails checks that a store path inside compressed
// data, which no rewriting can reach, fails the split build with a message
// that names the file once it reaches an output; an intermediate that
// stays in the build tree does not fail it.
func TestCompressedLeftoverFails(t *testing.T) {
	intermediate := `old: { postConfigure = "echo $out | gzip -n > baked-path.gz"; }`
	if _, err := bed.Build(context.Background(), t.TempDir(), "-E", splitExpr("make-baked", intermediate)); err != nil {
		t.Fatalf("an intermediate that no output contains failed the build: %v", err)
	}
	override := `old: { postConfigure = "echo $out | gzip -n > baked-path.gz"; postInstall = "cp baked-path.gz $out/"; }`
	_, err := bed.Build(context.Background(), t.TempDir(), "-E", splitExpr("make-baked", override))
	if err == nil {
		t.Fatal("the split build succeeded")
	}
	for _, want := range []string{"baked-path.gz", "inside compressed data"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not mention %q:\n%v", want, err)
		}
	}
}

// TestFailsLikePlain builds packages whose plain build fails in a late
// phase: the split build must fail too, in the stage that runs it.
func TestFailsLikePlain(t *testing.T) {
	tests := []struct{ name, fixture, override, want string }{
		// installcheck compares the installed program with a file of the
		// build tree: the final stage needs the tree to fail as the plain
		// build does.
		{"failing installcheck", "checks", `{ installCheckFlags = [ "EXPECTED=/dev/null" ]; }`, "installcheck] Error 1"},
		// The early phase's failure to find a late function is the
		// split's: it says so, naming the phase.
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			plainExpr := fmt.Sprintf(`(let pkgs = import %q { }; in (import %q { inherit pkgs; }).%s.overrideAttrs (%s))`,
				bed.Path("nix/host-pkgs.nix"), bed.Path("testdata/fixtures"), tt.fixture, tt.override)
			if _, err := bed.Build(ctx, t.TempDir(), "-E", plainExpr); err == nil {
				t.Fatal("the plain build succeeded")
			}
			expr := splitExpr(tt.fixture, tt.override)
			_, err := bed.Build(ctx, t.TempDir(), "-E", expr)
			if err == nil {
				t.Fatal("the split build succeeded where the plain build failed")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("the split build failed, but not in %s: %v", tt.want, err)
			}
			// It failed in the final stage: the earlier ones were built.
			drvs := stageDrvs(t, expr)
			if out, err := bed.WouldBuild(ctx, drvs["unwrapped"]); err != nil || len(out) != 0 {
				t.Errorf("the unwrapped stage was not built (would build %v, %v)", out, err)
			}
		})
	}
}

// TestTrapSetInPhase: a trap set in an early phase (trap … EXIT in
// preBuild) is not shell state the split can carry, and an EXIT trap
// would run when the vanilla stage ends: the split fails naming the trap
// and the fix, and hook mode builds as usual without storing an entry,
// to the plain build's outputs.
func TestTrapSetInPhase(t *testing.T) {
	ctx := context.Background()
	override := `{ preBuild = "trap 'echo stamp > $out/stamp' EXIT"; }`
	_, err := bed.Build(ctx, t.TempDir(), "-E", splitExpr("make-baked", override))
	if err == nil {
		t.Fatal("the split build succeeded")
	}
	for _, want := range []string{"a phase set or removed a trap", "echo stamp", "exitHooks+=(FUNCTION)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
	cache, b := hookCache(t)
	stamp := fmt.Sprint(time.Now().UnixNano())
	expr := func(hook bool) []string {
		return []string{"-E", fmt.Sprintf(`((import %q { hook = %v; cacheDir = %q; stamp = %q; }).make-baked.overrideAttrs %s)`,
			bed.Path("testdata/fixtures"), hook, cache, stamp, override)}
	}
	compareBuilds(t, b, expr(false), expr(true))
	drv, err := b.Instantiate(ctx, expr(true)...)
	if err != nil {
		t.Fatal(err)
	}
	log := buildLog(t, drv)
	if !strings.Contains(log, "vanilla: not storing a cache entry after buildPhase: a phase set or removed a trap") || strings.Contains(log, "vanilla: cache: stored") {
		t.Errorf("the hooked build's log does not say it stored nothing because of the trap:\n%s", tail(log, 30))
	}
}

// TestOverrideDerivationRefused changes a split package's install step with
// lib.overrideDerivation, which changes the final derivation alone: the
// final stage must refuse it, naming the attribute and the fix, rather
// than ship the unwrapped stage's outputs without the change.
func TestOverrideDerivationRefused(t *testing.T) {
	expr := fmt.Sprintf(`(let
  pkgs = import %q { overlays = [ (import %q) ]; };
  p = (import %q { split = true; inherit pkgs; }).make-baked;
in pkgs.lib.overrideDerivation p (old: { postInstall = "echo overridden > $out/share/greet/extra"; }))`,
		bed.Path("nix/host-pkgs.nix"), bed.Path("nix/overlay.nix"), bed.Path("testdata/fixtures"))
	_, err := bed.Build(context.Background(), t.TempDir(), "-E", expr)
	if err == nil {
		t.Fatal("the build succeeded without the overridden postInstall")
	}
	for _, want := range []string{"postInstall was added", "lib.overrideDerivation", "overrideAttrs"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
}

// TestRebuiltReported builds a package whose build tool keeps digests of
// its command lines: the unwrapped stage rebuilds what the rewrite made
// stale, and its log says which files.
func TestRebuiltReported(t *testing.T) {
	ctx := context.Background()
	if _, err := bed.Build(ctx, t.TempDir(), fixtureArgs("digest-cmdline", true)...); err != nil {
		t.Fatal(err)
	}
	drvs := stageDrvs(t, splitExpr("digest-cmdline", "{ }"))
	cmd := exec.Command("nix-store", "--read-log", drvs["unwrapped"])
	cmd.Env = bed.Env()
	log, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "vanilla: the unwrapped stage rebuilt 2 files of the checkpoint (src/.cmd.sha256, src/tool)") {
		t.Errorf("the unwrapped stage's log does not report the rebuilt files:\n%s", log)
	}
}

// fixtureExpr is a fixture, plain or split, with an override applied;
// pkgs is in scope.
func fixtureExpr(fixture string, split bool, override string) string {
	overlays := "[ ]"
	if split {
		overlays = fmt.Sprintf("[ (import %q) ]", bed.Path("nix/overlay.nix"))
	}
	return fmt.Sprintf(`(let
  pkgs = import %q { overlays = %s; };
  p = (import %q { split = %v; inherit pkgs; }).%s;
in p.overrideAttrs (%s))`,
		bed.Path("nix/host-pkgs.nix"), overlays, bed.Path("testdata/fixtures"), split, fixture, override)
}

// TestUnpackItself: the unwrapped stage unpacks a tarball source itself
// (no unpackPhase), and falls back to unpackPhase, saying why, for a
// postUnpack (which the hook sees) and for a second tarball that
// overwrites a file of the first (which the helper finds); with
// vanillaSourceCopy it unpacks the checkpoint's copy, postUnpack or not.
// The outputs are the plain build's each time.
func TestUnpackItself(t *testing.T) {
	// A second tarball that overwrites a file of the first, as tar does.
	overlaid := `old: { srcs = [ old.src (pkgs.stdenvNoCC.mkDerivation { name = "overlay.tar.gz"; dontUnpack = true;
	  buildCommand = "mkdir -p tarball-1.0/data && echo overlaid > tarball-1.0/data/n1 && tar -czf $out tarball-1.0"; }) ]; }`
	for _, tc := range []struct {
		name, override string
		want           string // in the unwrapped stage's log
		unpackPhase    bool
	}{
		{"tarball", "{ }", "vanilla: unpacked the source again itself, only the 12 files the build left alone", false},
		{"postUnpack", `{ postUnpack = "echo unpacked"; }`, "vanilla: unpacking the source again with unpackPhase: the package has a postUnpack", true},
		{"overlaid", overlaid, `"tarball-1.0/data/n1": 2 bytes in the tarball, 9 in the checkpoint; unpacking with unpackPhase instead`, true},
		// The source copy brings back what the sources cannot: here a
		// file postUnpack made, which installPhase lists and sums.
		{"source copy", `{ vanillaSourceCopy = true; }`, "vanilla: unpacked the source again itself from the checkpoint's source copy, only the 12 files the build left alone", false},
		{"source copy, postUnpack", `{ vanillaSourceCopy = true; postUnpack = "echo made by postUnpack > tarball-1.0/data/n0; touch -d @1700000000 tarball-1.0/data/n0"; }`,
			"vanilla: unpacked the source again itself from the checkpoint's source copy, only the 13 files the build left alone", false},
		{"no source copy, postUnpack", `{ vanillaSourceCopy = false; postUnpack = "echo made by postUnpack > tarball-1.0/data/n0; touch -d @1700000000 tarball-1.0/data/n0"; }`,
			"vanilla: unpacking the source again with unpackPhase: the package has a postUnpack", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			compareBuilds(t, bed, []string{"-E", fixtureExpr("tarball", false, tc.override)}, []string{"-E", fixtureExpr("tarball", true, tc.override)})
			drv, err := bed.Instantiate(ctx, "-E", fixtureExpr("tarball", true, tc.override)+".unwrapped")
			if err != nil {
				t.Fatal(err)
			}
			log, err := bed.run(ctx, "nix-store", "--read-log", drv)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(log, tc.want) {
				t.Errorf("the unwrapped stage's log does not say %q:\n%s", tc.want, log)
			}
			if ran := strings.Contains(log, "Running phase: unpackPhase"); ran != tc.unpackPhase {
				t.Errorf("unpackPhase ran: %v, want %v", ran, tc.unpackPhase)
			}
		})
	}
}

// TestSourceCopyHookMode: in hook mode the entry after buildPhase gets a
// source copy (vanillaSourceCopy), and a postInstall change resumes from
// it without unpackPhase, to the plain build's outputs; so does a
// postFixup change, from the entry after installPhase, which has no copy
// of its own, with the copy of the entry after buildPhase. With that
// entry gone, a preFixup change resumes after installPhase too, from
// the sources.
func TestSourceCopyHookMode(t *testing.T) {
	cache, b := hookCache(t)
	ctx := context.Background()
	stamp := fmt.Sprint(time.Now().UnixNano())
	expr := func(hook bool, change string) []string {
		return []string{"-E", fmt.Sprintf(`((import %q { hook = %v; cacheDir = %q; stamp = %q; %s }).tarball.overrideAttrs { vanillaSourceCopy = true; })`,
			bed.Path("testdata/fixtures"), hook, cache, stamp, change)}
	}
	for _, step := range []struct {
		change string
		want   string
	}{
		{"", "vanilla: cache: stored"},
		{`change = "postInstall";`, "vanilla: unpacked the source again itself from the checkpoint's source copy, only the 12 files the build left alone"},
		{`change = "postFixup";`, "vanilla: unpacked the source again itself from the source copy of " + cache},
		{`change = "preFixup";`, "vanilla: unpacked the source again itself, only the 11 files the build left alone"}, // installPhase changed one
	} {
		if step.change == `change = "preFixup";` {
			removeEntries(t, cache, "build")
		}
		plain, err := b.Build(ctx, t.TempDir(), expr(false, step.change)...)
		if err != nil {
			t.Fatal(err)
		}
		drv, err := b.Instantiate(ctx, expr(true, step.change)...)
		if err != nil {
			t.Fatal(err)
		}
		hooked, err := b.Build(ctx, t.TempDir(), expr(true, step.change)...)
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
		if !strings.Contains(log, step.want) {
			t.Errorf("%s: the build log lacks %q:\n%s", orFirst(step.change), step.want, tail(log, 40))
		}
		if step.change != "" && strings.Contains(log, "Running phase: unpackPhase") {
			t.Errorf("the resumed build ran unpackPhase:\n%s", tail(log, 40))
		}
		if hit := "after installPhase"; strings.Contains(step.change, "Fixup") && !strings.Contains(log, hit) {
			t.Errorf("%s did not resume %s:\n%s", step.change, hit, tail(log, 40))
		}
	}
}

// TestBackgroundPass: the vanilla stage's background pass (vanilla
// prepare) compresses the source copy while buildPhase runs (here a
// sleep, which leaves the cores idle), the save takes it, and the outputs
// are the plain build's. (A file changed after the pass read it, which
// puts its group back to the save, is pkg/checkpoint's
// TestPrepareSameCheckpoint.)
func TestBackgroundPass(t *testing.T) {
	t.Parallel()
	override := `{ vanillaSourceCopy = true; preBuild = "sleep 8; cd src"; }`
	compareBuilds(t, bed, []string{"-E", fixtureExpr("tarball", false, override)}, []string{"-E", fixtureExpr("tarball", true, override)})
	drv, err := bed.Instantiate(context.Background(), "-E", fixtureExpr("tarball", true, override)+".vanilla")
	if err != nil {
		t.Fatal(err)
	}
	drv, _, _ = strings.Cut(drv, "!") // the stage's hidden checkpoint output
	log := buildLog(t, drv)
	m := regexp.MustCompile(`vanilla: saved checkpoint: .*, copied \(.* compressed; (\d+) of (\d+) parts compressed during the build\)`).FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("the vanilla stage's log does not say what the save took from the background pass:\n%s", tail(log, 30))
	}
	if m[1] == "0" {
		t.Errorf("the save took none of the %s parts from the background pass, which had 8 idle seconds:\n%s", m[2], tail(log, 30))
	}
}
