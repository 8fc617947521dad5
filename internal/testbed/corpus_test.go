package testbed

import (
	"bufio"
	"context"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The corpus test (TestCorpus) builds every package of testdata/corpus
// plain and split, and again after late changes, and holds the split to
// the plain build: outputs equal after mapping hashes, the package's own
// check passing, only the stages a change belongs to rebuilt, and nothing
// compiled after the checkpoint.
//
// Tiers, planned for CI's budget (90 minutes on 2 cores for the whole
// suite; the run time is logged at the end):
//   - tmpfs (TMPDIR=/dev/shm/…, as the README recommends): every variant;
//   - disk (TMPDIR=/var/tmp/…, ext4 here): plain and split only.
//
// VANILLA_CORPUS=full runs every variant on disk too; VANILLA_CORPUS=skip
// skips the test; VANILLA_CORPUS_ONLY=a,b limits it to some packages.
//
// Cases known to fail today are listed in testdata/corpus/known.txt, with
// the class and the failure seen: the test asserts that each of
// them still fails that way (so a fix shows up as "now passes") and that
// every other case passes.

// corpusTier is where nix-build puts build directories.
type corpusTier struct {
	name  string
	dir   string // TMPDIR given to nix-build
	tmpfs bool   // dir must be on tmpfs (else: must not be)
	full  bool   // every variant, or plain and split only
}

// corpusVariant is one change applied to a package.
type corpusVariant struct {
	name string
	// wrap turns a package expression into the changed one.
	wrap func(pkg string) string
	// rebuilt lists, for each acceptable outcome, the stages whose
	// derivations the change may rebuild (nil for the base variant).
	rebuilt [][]string
	// marker is the file under $out/share/corpus the change writes.
	marker string
}

// corpusRun makes every run's changes new, so that each run really
// rebuilds what a change rebuilds (and nix-build --dry-run has something to
// say), while the base builds stay cached between runs.
var corpusRun = fmt.Sprint(time.Now().UnixNano())

// markScript is Nix string text that writes $out/share/corpus/NAME.
func markScript(name string) string {
	return fmt.Sprintf(`"\nmkdir -p $out/share/corpus\necho %[1]s changed %[2]s > $out/share/corpus/%[1]s\n"`, name, corpusRun)
}

var (
	stagesFinal   = []string{"final"}
	stagesInstall = []string{"final", "unwrapped"}
	stagesAll     = []string{"final", "unwrapped", "vanilla"}
)

func attrVariant(attr string) corpusVariant {
	return corpusVariant{
		name:   attr,
		marker: attr,
		wrap: func(p string) string {
			return fmt.Sprintf(`((%s).overrideAttrs (old: { %s = (old.%[2]s or "") + %s; }))`, p, attr, markScript(attr))
		},
	}
}

// corpusVariants returns the variants for a package that has the given
// custom phases (list attribute → phase names with a body).
func corpusVariants(phases []customPhase) []corpusVariant {
	fixup := attrVariant("postFixup")
	fixup.rebuilt = [][]string{stagesFinal}
	install := attrVariant("postInstall")
	install.rebuilt = [][]string{stagesInstall}
	override := corpusVariant{
		name:   "overrideDerivation",
		marker: "overrideDerivation",
		wrap: func(p string) string {
			return fmt.Sprintf(`((import <nixpkgs/lib>).overrideDerivation (%s) (old: { postInstall = (old.postInstall or "") + %s; }))`, p, markScript("overrideDerivation"))
		},
		// The change must not be lost: run where it belongs, or in the
		// final stage, or be refused with the fix; never in a new
		// checkpoint.
		rebuilt: [][]string{stagesFinal, stagesInstall},
	}
	vs := []corpusVariant{{name: "base", wrap: func(p string) string { return p }}, fixup, install, override}
	for _, ph := range phases {
		v := attrVariant(ph.Phase)
		v.name = "customPhase:" + ph.Phase
		switch ph.List {
		case "preConfigurePhases", "preBuildPhases":
			v.rebuilt = [][]string{stagesAll}
		case "preInstallPhases":
			v.rebuilt = [][]string{stagesInstall}
		default:
			v.rebuilt = [][]string{stagesFinal}
		}
		vs = append(vs, v)
	}
	return vs
}

type customPhase struct{ List, Phase string }

// customPhases lists the phases of a corpus package that the package
// itself lists in a phase-list attribute and gives a body.
func customPhases(ctx context.Context, b *Bed, pkg string) ([]customPhase, error) {
	out, err := b.Eval(ctx, fmt.Sprintf(`
let
  a = (import %q { }).%s.drvAttrs;
  lists = [ "preConfigurePhases" "preBuildPhases" "preInstallPhases" "preFixupPhases" "preDistPhases" "postPhases" ];
  asList = v: if builtins.isList v then v else builtins.filter builtins.isString (builtins.split " " v);
in builtins.concatMap (l: map (p: { List = l; Phase = p; }) (builtins.filter (p: a ? ${p}) (asList (a.${l} or [ ])))) lists`,
		b.Path("testdata/corpus"), pkg))
	if err != nil {
		return nil, err
	}
	var phases []customPhase
	return phases, json.Unmarshal([]byte(out), &phases)
}

// knownFailure is a line of testdata/corpus/known.txt.
type knownFailure struct {
	pkg, variant, tier, class, failure string
	line                               int
}

func readKnown(path string) ([]*knownFailure, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var known []*knownFailure
	line := regexp.MustCompile(`^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(.+)$`)
	s := bufio.NewScanner(f)
	for n := 1; s.Scan(); n++ {
		text := strings.TrimSpace(s.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		m := line.FindStringSubmatch(text)
		if m == nil {
			return nil, fmt.Errorf("%s:%d: want \"package variant tier class failure\": %q", path, n, text)
		}
		known = append(known, &knownFailure{pkg: m[1], variant: m[2], tier: m[3], class: m[4], failure: strings.TrimSpace(m[5]), line: n})
	}
	return known, s.Err()
}

func findKnown(known []*knownFailure, pkg, variant, tier string) *knownFailure {
	for _, k := range known {
		if (k.pkg == "*" || k.pkg == pkg) && (k.variant == "*" || k.variant == variant) && (k.tier == "*" || k.tier == tier) {
			return k
		}
	}
	return nil
}

// fsType returns the statfs magic of the filesystem holding dir.
func fsType(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Type), nil
}

const tmpfsMagic = 0x01021994

// tierBed returns a Bed whose nix commands build one derivation at a
// time with their build directories under dir.
func tierBed(b *Bed, dir string) *Bed {
	c := b.With("max-jobs = 1\ncores = 2")
	c.env = append(slices.Clone(c.env), "TMPDIR="+dir)
	return c
}

var storeHash = regexp.MustCompile(`/nix/store/[0-9a-df-np-sv-z]{32}-`)

// normalize removes store hashes, so that failures can be matched
// against known.txt.
func normalize(s string) string { return storeHash.ReplaceAllString(s, "/nix/store/…-") }

// compilerLine matches a log line that compiles C or C++: a compiler
// given -c or a source file, or the progress lines of ninja, CMake and
// libtool for compiling.
var compilerLine = regexp.MustCompile(`(?m)^.*(?:(?:^|[ \t/'"])(?:cc|gcc|c\+\+|g\+\+)[ \t](?:.*[ \t])?(?:-c|[^ \t]+\.(?:c|cc|cpp|cxx))(?:[ \t]|$)|libtool: compile:|Compiling C|Building C).*$`)

// bashError matches bash's own error lines ("setup: line 112: popd: …").
var bashError = regexp.MustCompile(`: line [0-9]+: `)

// interesting returns the lines of a failed build's output that say why.
func interesting(s string) string {
	var keep []string
	for _, l := range strings.Split(normalize(s), "\n") {
		low := strings.ToLower(l)
		if strings.Contains(low, "error") || strings.Contains(low, "vanilla:") || strings.Contains(low, "fail") ||
			strings.Contains(low, "not found") || strings.Contains(low, "no such") || strings.Contains(low, "differs") ||
			bashError.MatchString(l) {
			keep = append(keep, strings.TrimSpace(l))
		}
	}
	if len(keep) > 12 {
		keep = keep[len(keep)-12:]
	}
	return strings.Join(keep, " | ")
}

// corpusBuild is one nix-build of a case.
type corpusBuild struct {
	drv  string
	outs Outputs
	log  string // the logs of every stage, concatenated
	err  error
}

func (b *Bed) buildLogged(ctx context.Context, dir string, expr string, drvs ...string) corpusBuild {
	var r corpusBuild
	r.drv, r.err = b.Instantiate(ctx, "-E", expr)
	if r.err != nil {
		return r
	}
	r.outs, r.err = b.Build(ctx, dir, "-E", expr)
	for _, d := range append(drvs, r.drv) {
		if d == "" {
			continue
		}
		if l, err := b.run(ctx, "nix-store", "--read-log", d); err == nil {
			r.log += l
		}
	}
	return r
}

// corpusCheck runs a package's check.sh against outs, with LOG naming a
// file that holds the build's logs.
func corpusCheck(ctx context.Context, b *Bed, pkg string, outs Outputs, log string) error {
	dir := b.Path("testdata/corpus/" + pkg)
	logFile, err := os.CreateTemp("", "corpus-log-*")
	if err != nil {
		return err
	}
	defer os.Remove(logFile.Name())
	if _, err := logFile.WriteString(log); err != nil {
		return err
	}
	logFile.Close()
	script := fmt.Sprintf("set -eu\nsource %q\nsource ./check.sh\n", b.Path("testdata/fixtures/check-lib.sh"))
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LOG="+logFile.Name())
	for o, p := range outs {
		cmd.Env = append(cmd.Env, o+"="+p)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// stagesOf returns the derivation paths of a split expression's stages;
// a stage the expression does not have is "".
func stagesOf(ctx context.Context, b *Bed, expr string) (map[string]string, error) {
	out, err := b.Eval(ctx, fmt.Sprintf(`let p = %s; in { vanilla = p.vanilla.drvPath or ""; unwrapped = p.unwrapped.drvPath or ""; final = p.drvPath; }`, expr))
	if err != nil {
		return nil, err
	}
	var st map[string]string
	return st, json.Unmarshal([]byte(out), &st)
}

// corpusCase runs one package in one variant and tier and returns what
// went wrong with the split build. Problems of the package itself (its
// plain build or check failing) fail the test at once.
type corpusCase struct {
	t       *testing.T
	b       *Bed
	tier    corpusTier
	pkg     string
	v       corpusVariant
	base    map[string]string // the split base's stages, once built
	baseOK  bool
	expectF string // the text a failing plain build must print
	patched bool   // the split build is made with vanillaStdenv
}

func (c *corpusCase) expr(split bool) string {
	return c.v.wrap(fmt.Sprintf(`(import %q { split = %v; tier = %q; patchedStdenv = %v; }).%s`,
		c.b.Path("testdata/corpus"), split, c.tier.name, split && c.patched, c.pkg))
}

func (c *corpusCase) run(ctx context.Context) (problems []string) {
	t := c.t
	splitExpr := c.expr(true)
	stages, err := stagesOf(ctx, c.b, splitExpr)
	if err != nil {
		return []string{"evaluating the split stages: " + interesting(err.Error())}
	}
	if stages["vanilla"] == "" && c.v.name == "base" {
		return []string{"the package is not split"}
	}
	var wouldBuild []string
	if c.v.rebuilt != nil {
		problems = append(problems, c.checkRebuilt(ctx, splitExpr, stages, &wouldBuild)...)
	}
	plain := c.b.buildLogged(ctx, t.TempDir(), c.expr(false))
	split := c.b.buildLogged(ctx, t.TempDir(), splitExpr, stages["vanilla"], stages["unwrapped"])
	if c.v.name == "base" && split.err == nil {
		c.base, c.baseOK = stages, true
	}
	switch {
	case plain.err != nil && c.expectF == "":
		t.Fatalf("the plain build fails (a corpus bug): %v", plain.err)
	case plain.err != nil:
		if !strings.Contains(plain.log, c.expectF) {
			t.Fatalf("the plain build fails, but its log lacks %q: %v", c.expectF, plain.err)
		}
		if split.err == nil {
			return append(problems, "the split build succeeds where the plain build fails with "+c.expectF)
		}
		if !strings.Contains(split.log, c.expectF) {
			problems = append(problems, "the split build fails otherwise than the plain build: "+interesting(split.err.Error()))
		}
		return problems
	case c.expectF != "":
		t.Fatalf("the plain build succeeds, but expect-failure says it fails with %q", c.expectF)
	}
	if err := corpusCheck(ctx, c.b, c.pkg, plain.outs, plain.log); err != nil {
		t.Fatalf("the plain build's check fails (a corpus bug): %v", err)
	}
	if c.v.marker != "" && !hasMarker(plain.outs, c.v.marker) {
		t.Fatalf("the plain build lacks the %s change (a harness bug)", c.v.name)
	}
	if !compilerLine.MatchString(plain.log) {
		t.Logf("the plain build compiles nothing: the recompilation check proves nothing here")
	}
	if split.err != nil {
		// The split may refuse lib.overrideDerivation instead of running
		// the change, as long as it says so and how to fix it.
		if c.v.name == "overrideDerivation" && strings.Contains(split.log, "the final stage was not made from the package the unwrapped stage was built from: postInstall") &&
			strings.Contains(split.log, "lib.overrideDerivation") && strings.Contains(split.log, "use overrideAttrs") {
			return problems
		}
		return append(problems, "split build failed: "+interesting(split.err.Error()+"\n"+split.log))
	}
	problems = append(problems, c.compare(ctx, plain, split)...)
	if c.patched && !strings.Contains(split.log, phaseHooksLine) {
		problems = append(problems, "the hook did not use setup.sh's hook points")
	}
	return append(problems, c.checkNoCompile(ctx, stages, wouldBuild)...)
}

var buildIDDir = regexp.MustCompile(`(^|/)\.build-id/[0-9a-f]{2}: only in `)

// buildIDPairs returns replacements from the GNU build-ids of a's ELF
// files to those of the files at the same paths in b, in hex and in the
// .build-id/xx/rest form: the ids hash the output path, so they and the
// debug files named after them differ by construction.
func buildIDPairs(a, b Outputs) []string {
	var pairs []string
	for name, root := range a {
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			ia, ib := buildID(p), buildID(filepath.Join(b[name], rel))
			if ia != "" && ib != "" && ia != ib {
				pairs = append(pairs, ia[:2]+"/"+ia[2:], ib[:2]+"/"+ib[2:], ia, ib)
			}
			return nil
		})
	}
	return pairs
}

// buildID returns the hex GNU build-id of an ELF file, or "".
func buildID(path string) string {
	f, err := elf.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := f.Section(".note.gnu.build-id")
	if s == nil {
		return ""
	}
	data, err := s.Data()
	// namesz, descsz, type, "GNU\0", then the id
	if err != nil || len(data) < 16+4 {
		return ""
	}
	return hex.EncodeToString(data[16:])
}

func hasMarker(outs Outputs, name string) bool {
	data, err := os.ReadFile(filepath.Join(outs["out"], "share/corpus", name))
	return err == nil && string(data) == name+" changed "+corpusRun+"\n"
}

// compare holds the split build's outputs to the plain build's.
func (c *corpusCase) compare(ctx context.Context, plain, split corpusBuild) (problems []string) {
	if c.v.marker != "" && !hasMarker(split.outs, c.v.marker) {
		problems = append(problems, fmt.Sprintf("the %s change is missing from the split output", c.v.name))
	}
	cmp, err := CompareOutputsMapped(plain.outs, split.outs, buildIDPairs(plain.outs, split.outs)...)
	if err != nil {
		return append(problems, "comparing: "+normalize(err.Error()))
	}
	for _, d := range cmp.Differences {
		// .build-id/xx directories are named after the ids, and the
		// files in them are compared under the mapped names
		if buildIDDir.MatchString(d) {
			continue
		}
		problems = append(problems, "differs: "+d)
	}
	c.t.Logf("%d files compared, %d equal but for the build-id note, %d equal once decompressed, %d differ",
		cmp.Files, cmp.BuildIDOnly, cmp.GzipOnly, len(cmp.Differences))
	if err := corpusCheck(ctx, c.b, c.pkg, split.outs, split.log); err != nil {
		problems = append(problems, "check: "+normalize(err.Error()))
	}
	return problems
}

// checkRebuilt compares the variant's stages with the base's, and what
// nix-build --dry-run would build now, with what the change may rebuild.
func (c *corpusCase) checkRebuilt(ctx context.Context, expr string, stages map[string]string, would *[]string) (problems []string) {
	if c.base == nil {
		base, err := stagesOf(ctx, c.b, (&corpusCase{b: c.b, tier: c.tier, pkg: c.pkg, v: corpusVariant{wrap: func(p string) string { return p }}}).expr(true))
		if err != nil {
			return []string{"evaluating the base stages: " + interesting(err.Error())}
		}
		c.base = base
	}
	var rebuilt []string
	for _, s := range stagesAll {
		if stages[s] != c.base[s] {
			rebuilt = append(rebuilt, s)
		}
	}
	if c.v.name != "overrideDerivation" && !slices.ContainsFunc(c.v.rebuilt, func(want []string) bool { return slices.Equal(want, rebuilt) }) {
		problems = append(problems, fmt.Sprintf("rebuilds %v, want %v", rebuilt, c.v.rebuilt[0]))
	}
	if !c.baseOK {
		return problems
	}
	drvs, err := c.b.WouldBuild(ctx, "-E", expr)
	if err != nil {
		return append(problems, "nix-build --dry-run: "+interesting(err.Error()))
	}
	*would = drvs
	if slices.Contains(drvs, stages["vanilla"]) && stages["vanilla"] != "" && !slices.Contains(rebuilt, "vanilla") {
		problems = append(problems, "nix-build --dry-run would build the vanilla stage")
	}
	ok := slices.ContainsFunc(c.v.rebuilt, func(want []string) bool { return len(want) == len(drvs) })
	if !ok {
		problems = append(problems, fmt.Sprintf("nix-build --dry-run would build %d derivations, want %d", len(drvs), len(c.v.rebuilt[0])))
	}
	return problems
}

// checkNoCompile looks for compiler invocations in the logs of the
// stages after the checkpoint, and of whatever else the change rebuilt
// but a vanilla stage it legitimately rebuilds.
func (c *corpusCase) checkNoCompile(ctx context.Context, stages map[string]string, would []string) (problems []string) {
	drvs := []string{stages["unwrapped"], stages["final"]}
	for _, d := range would {
		if d != stages["vanilla"] && !slices.Contains(drvs, d) {
			drvs = append(drvs, d)
		}
	}
	for _, d := range drvs {
		if d == "" {
			continue
		}
		log, err := c.b.run(ctx, "nix-store", "--read-log", d)
		if err != nil {
			continue
		}
		if m := compilerLine.FindString(log); m != "" {
			problems = append(problems, "recompiled after the checkpoint: "+normalize(strings.TrimSpace(m)))
		}
	}
	return problems
}

func corpusTiers(t *testing.T) []corpusTier {
	full := os.Getenv("VANILLA_CORPUS") == "full"
	return []corpusTier{
		{name: "tmpfs", dir: "/dev/shm/nix-vanilla-corpus", tmpfs: true, full: true},
		{name: "disk", dir: "/var/tmp/nix-vanilla-corpus", full: full},
	}
}

func corpusPackages(t *testing.T) []string {
	matches, err := filepath.Glob(bed.Path("testdata/corpus/*/package.nix"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	only := os.Getenv("VANILLA_CORPUS_ONLY")
	for _, m := range matches {
		name := filepath.Base(filepath.Dir(m))
		if only == "" || slices.Contains(strings.Split(only, ","), name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// TestCorpus is described at the top of this file.
func TestCorpus(t *testing.T) {
	if testing.Short() || os.Getenv("VANILLA_CORPUS") == "skip" {
		t.Skip("the corpus takes minutes; not with -short or VANILLA_CORPUS=skip")
	}
	ctx := context.Background()
	known, err := readKnown(bed.Path("testdata/corpus/known.txt"))
	if err != nil {
		t.Fatal(err)
	}
	pkgs := corpusPackages(t)
	if os.Getenv("VANILLA_CORPUS_ONLY") == "" && len(pkgs) < 30 {
		t.Fatalf("%d packages in testdata/corpus, want at least 30", len(pkgs))
	}
	var summary []string
	for _, tier := range corpusTiers(t) {
		t.Run(tier.name, func(t *testing.T) {
			if err := os.MkdirAll(tier.dir, 0o755); err != nil {
				t.Skipf("no build directory for the %s tier: %v", tier.name, err)
			}
			typ, err := fsType(tier.dir)
			if err != nil || (typ == tmpfsMagic) != tier.tmpfs {
				t.Skipf("%s is not on the filesystem the %s tier needs (statfs type %#x, %v)", tier.dir, tier.name, typ, err)
			}
			start := time.Now()
			b := tierBed(bed, tier.dir)
			counts := map[string]int{}
			for _, pkg := range pkgs {
				t.Run(pkg, func(t *testing.T) {
					phases, err := customPhases(ctx, b, pkg)
					if err != nil {
						t.Fatal(err)
					}
					expect, _ := os.ReadFile(b.Path("testdata/corpus/" + pkg + "/expect-failure"))
					cc := &corpusCase{b: b, tier: tier, pkg: pkg, expectF: strings.TrimSpace(string(expect))}
					for _, v := range corpusVariants(phases) {
						if !tier.full && v.name != "base" {
							continue
						}
						t.Run(v.name, func(t *testing.T) {
							cc.t, cc.v = t, v
							caseStart := time.Now()
							problems := cc.run(ctx)
							outcome := reconcile(t, findKnown(known, pkg, v.name, tier.name), problems)
							counts[outcome]++
							summary = append(summary, fmt.Sprintf("%-6s %-22s %-26s %-7s %5.1fs", tier.name, pkg, v.name, outcome, time.Since(caseStart).Seconds()))
						})
					}
				})
			}
			line := fmt.Sprintf("corpus, %s tier (%s): %d pass, %d known failures, %d unexpected, in %s",
				tier.name, tier.dir, counts["pass"], counts["known"], counts["FAIL"], time.Since(start).Round(time.Second))
			summary = append(summary, line)
			t.Log(line)
		})
	}
	t.Logf("corpus summary:\n%s", strings.Join(summary, "\n"))
	for _, k := range known {
		if k.pkg != "*" && !slices.Contains(pkgs, k.pkg) && os.Getenv("VANILLA_CORPUS_ONLY") == "" {
			t.Errorf("known.txt:%d: no package %s in testdata/corpus", k.line, k.pkg)
		}
	}
}

// reconcile reports a case's problems against its known.txt entry and
// returns "pass", "known" or "FAIL".
func reconcile(t *testing.T, k *knownFailure, problems []string) string {
	all := strings.Join(problems, "\n")
	switch {
	case k == nil && len(problems) == 0:
		return "pass"
	case k == nil:
		for _, p := range problems {
			t.Errorf("%s", p)
		}
		return "FAIL"
	case len(problems) == 0 && strings.HasSuffix(k.class, "?"):
		// The line says the failure depends on the store hashes (the
		// order ld gives strings that hold them): this run drew an order
		// that matches.
		t.Logf("passes this time; known.txt:%d (class %s) says it may not", k.line, k.class)
		return "pass"
	case len(problems) == 0:
		t.Errorf("now passes: remove line %d (%s %s %s, class %s) from testdata/corpus/known.txt", k.line, k.pkg, k.variant, k.tier, k.class)
		return "FAIL"
	case !strings.Contains(all, k.failure):
		t.Errorf("known.txt:%d (class %s) expects %q, but the case fails otherwise:\n%s", k.line, k.class, k.failure, all)
		return "FAIL"
	default:
		t.Logf("known failure (class %s): %s", k.class, all)
		return "known"
	}
}
