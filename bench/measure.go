package main

import (
	"archive/tar"
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/nix-vanilla/nix-vanilla/internal/testbed"
	"github.com/nix-vanilla/nix-vanilla/pkg/checkpoint"
	"github.com/nix-vanilla/nix-vanilla/pkg/storepath"
)

// The scenarios measured for each workload and tool.
const (
	clean       = "clean build"
	postFixup   = "postFixup changed"
	postInstall = "postInstall changed"
	wrapDep     = "wrapping dependency changed"
)

var scenarios = []string{clean, postFixup, postInstall, wrapDep}

// scenarioFlags name the late-change scenarios for -scenarios. The clean
// build is always measured: the others start from it.
var scenarioFlags = map[string]string{"fixup": postFixup, "install": postInstall, "wrapdep": wrapDep}

// newWrapDep is the wrapping dependency's version after the change
// (bench/workload.nix builds with 1.0 otherwise).
const newWrapDep = "2.0"

// The tools compared.
const (
	plain   = "plain"
	vanilla = "nix-vanilla"
	cbt     = "checkpointBuildTools"
	join    = "-unwrapped + symlinkJoin"
	hooked  = "vanillaHook (hook mode)"
)

var tools = []string{plain, vanilla, cbt, join, hooked}

// toolFlags name the tools for -tools. The plain build is always measured:
// every ratio is over it.
var toolFlags = map[string]string{"vanilla": vanilla, "cbt": cbt, "join": join, "hook": hooked}

// A step is one timed build: a scenario of a tool, built in a mode of
// bench/workload.nix with extra arguments.
type step struct {
	scenario, tool, mode string
	extra                []string
}

// steps lists the builds of repetition rep (from 1), in order: each
// tool's clean build before its late changes, which resume from it. Plain
// builds have no late changes (they rebuild whole), nor has the
// hand-written split a postInstall change (it lives in the unwrapped
// derivation: the same builds as its clean build). Late changes not in
// chosen and tools not in chosenTools are left out. The first tool's clean
// build (the hook mode's when it is chosen) is paired with the plain build,
// which it follows: in even repetitions it comes first.
func steps(chosen, chosenTools []string, rep int) []step {
	all := []step{
		{clean, plain, "plain", nil},
		{clean, hooked, "hook", nil},
		{postInstall, hooked, "hook", []string{"installNote", "changed"}},
		{postFixup, hooked, "hook", []string{"fixupNote", "changed"}},
		{wrapDep, hooked, "hook", []string{"wrapDep", newWrapDep}},
		{clean, vanilla, "vanilla", nil},
		{postFixup, vanilla, "vanilla", []string{"fixupNote", "changed"}},
		{postInstall, vanilla, "vanilla", []string{"installNote", "changed"}},
		{wrapDep, vanilla, "vanilla", []string{"wrapDep", newWrapDep}},
		{clean, cbt, "cbtPrepare", nil},
		{postFixup, cbt, "cbt", []string{"fixupNote", "changed"}},
		{postInstall, cbt, "cbt", []string{"installNote", "changed"}},
		{wrapDep, cbt, "cbt", []string{"wrapDep", newWrapDep}},
		{clean, join, "symlinkJoin", nil},
		{postFixup, join, "symlinkJoin", []string{"fixupNote", "changed"}},
		{wrapDep, join, "symlinkJoin", []string{"wrapDep", newWrapDep}},
	}
	var out []step
	for _, st := range all {
		if (st.scenario == clean || contains(chosen, st.scenario)) && (st.tool == plain || contains(chosenTools, st.tool)) {
			out = append(out, st)
		}
	}
	if rep%2 == 0 && len(out) > 1 && out[1].scenario == clean {
		out[0], out[1] = out[1], out[0]
	}
	return out
}

// chooseTools turns the -tools flag into tools: plain and every other
// tool when it is empty, else plain and the ones it names.
func chooseTools(flagValue string) ([]string, error) {
	if flagValue == "" {
		return tools, nil
	}
	chosen := []string{plain}
	for _, key := range strings.Split(flagValue, ",") {
		t, ok := toolFlags[key]
		if !ok {
			return nil, fmt.Errorf("-tools: unknown tool %q (known: vanilla, cbt, join, hook)", key)
		}
		if !contains(chosen, t) {
			chosen = append(chosen, t)
		}
	}
	// In the order of tools, whatever the flag's.
	var ordered []string
	for _, t := range tools {
		if contains(chosen, t) {
			ordered = append(ordered, t)
		}
	}
	return ordered, nil
}

// result holds one workload's measurements.
type result struct {
	workload workload
	// times[scenario][tool] are the seconds of each repetition.
	times map[string]map[string][]float64
	// failed[scenario][tool] is why a build of checkpointBuildTools failed:
	// the line of its log that says so. Failures of plain and split builds
	// stop the bench.
	failed map[string]map[string]string
	// Checkpoint figures, from the last repetition.
	stats                          checkpoint.Stats
	saveSec, restoreSec, unpackSec []float64
	// The practical limits on the same files: tar | zstd -T0, cp -a, and
	// for a compressed restore, zstd -d | tar -x.
	tarSec, cpSec, untarSec []float64
	// Throughput of the hash rewrite and of a plain read, MB/s.
	rewriteMBs, readMBs float64
	// hook holds what the log of each hook-mode build said, and phases
	// the phases' durations of the plain and hook-mode builds.
	hook   []hookBuild
	phases map[string][]phaseTimes
	// stageRows are the rows of the split builds' breakdowns, each in
	// the order its build ran them.
	stageRows [][]string
	// cpu[scenario][tool] are the CPU seconds of the plain, split and
	// hook-mode builds, as times are their wall seconds.
	cpu map[string]map[string][]float64
	// done is the number of repetitions measured.
	done int
	// load is the load average (1, 5, 15 minutes) at the start of each
	// repetition: what else the machine was doing.
	load []string
}

// phaseKey indexes result.phases.
func phaseKey(scenario, tool string) string { return scenario + "/" + tool }

type bench struct {
	bed *testbed.Bed
	ctx context.Context
	log io.Writer
	// afterRep, if set, is called with a workload's results after each of
	// its repetitions but the last.
	afterRep func(*result) error
	// lastCPU is the CPU seconds (user and system) of the last build:
	// nix-build and the builder's processes, which it reaps.
	lastCPU float64
	// hookCache is the directory hook mode's caches are made in.
	hookCache string
}

// build builds bench/workload.nix with the given arguments and returns the
// seconds it took and the build log.
func (b *bench) build(args map[string]string, attr string) (float64, string, error) {
	sec, log, _, err := b.buildOn(b.bed, args, attr)
	return sec, log, err
}

// buildOn is build with another test bed's settings, and returns the log's
// lines with the time each arrived too.
func (b *bench) buildOn(bed *testbed.Bed, args map[string]string, attr string) (float64, string, []timedLine, error) {
	cmdArgs := []string{b.bed.Path("bench/workload.nix"), "--no-out-link"}
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmdArgs = append(cmdArgs, "--argstr", k, args[k])
	}
	if attr != "" {
		cmdArgs = append(cmdArgs, "-A", attr)
	}
	cmd := exec.CommandContext(b.ctx, "nix-build", cmdArgs...)
	cmd.Env = bed.Env()
	start := time.Now()
	logBuf := &timedWriter{start: start}
	cmd.Stderr = logBuf
	out, err := cmd.Output()
	sec := time.Since(start).Seconds()
	logBuf.flush()
	if cmd.ProcessState != nil {
		b.lastCPU = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	}
	if err != nil {
		return 0, "", nil, fmt.Errorf("nix-build %s: %w\n%s", strings.Join(cmdArgs, " "), err, tail(logBuf.text.String(), 30))
	}
	return sec, strings.TrimSpace(string(out)) + "\n" + logBuf.text.String(), logBuf.lines, nil
}

func (b *bench) measure(w workload, reps int, chosen, chosenTools []string) (*result, error) {
	r := &result{workload: w, times: map[string]map[string][]float64{}, failed: map[string]map[string]string{}, phases: map[string][]phaseTimes{}, cpu: map[string]map[string][]float64{}}
	for _, s := range scenarios {
		r.times[s] = map[string][]float64{}
		r.failed[s] = map[string]string{}
	}
	record := func(s, tool string, sec float64) {
		r.times[s][tool] = append(r.times[s][tool], sec)
		fmt.Fprintf(b.log, "bench: %s, %s, %s: %.1f s (%.1f s CPU)\n", w.name, s, tool, sec, b.lastCPU)
	}
	fmt.Fprintf(b.log, "bench: %s: building the tools first (untimed)\n", w.name)
	if _, _, err := b.build(map[string]string{"workload": w.name, "mode": "tools", "wrapDep": newWrapDep}, ""); err != nil {
		return nil, err
	}
	prevCache := ""
	for rep := 1; rep <= reps; rep++ {
		stamp := fmt.Sprintf("%d-%d", time.Now().UnixNano(), rep)
		args := func(mode string, extra ...string) map[string]string {
			a := map[string]string{"workload": w.name, "mode": mode, "stamp": stamp}
			for i := 0; i+1 < len(extra); i += 2 {
				a[extra[i]] = extra[i+1]
			}
			return a
		}
		r.load = append(r.load, loadAverage())
		fmt.Fprintf(b.log, "bench: %s, repetition %d of %d (load average %s)\n", w.name, rep, reps, r.load[len(r.load)-1])
		// The hook mode's cache: a new one for each repetition.
		var hookBed *testbed.Bed
		if contains(chosenTools, hooked) {
			if prevCache != "" {
				os.RemoveAll(prevCache)
			}
			dir, err := newHookCache(b.hookCache)
			if err != nil {
				return nil, err
			}
			prevCache = dir
			defer os.RemoveAll(dir)
			hookBed = b.bed.With("extra-sandbox-paths = " + dir)
			hookArgs := args
			args = func(mode string, extra ...string) map[string]string {
				a := hookArgs(mode, extra...)
				if mode == "hook" {
					a["cacheDir"] = dir
				}
				return a
			}
		}
		for _, st := range steps(chosen, chosenTools, rep) {
			if st.tool == cbt && st.scenario != clean && len(r.times[clean][cbt]) < rep {
				// This repetition's prepareCheckpointBuild failed.
				if r.failed[st.scenario][cbt] == "" {
					r.failed[st.scenario][cbt] = "not run: its prepareCheckpointBuild failed"
				}
				continue
			}
			bed := b.bed
			if st.tool == hooked {
				// The helper again, untimed: the bench evaluates the
				// working tree, and a helper changed since the last build
				// would be rebuilt inside the timed one.
				if _, _, err := b.build(map[string]string{"workload": w.name, "mode": "tools", "wrapDep": newWrapDep}, ""); err != nil {
					return nil, err
				}
				bed = hookBed
			}
			sec, log, lines, err := b.buildOn(bed, args(st.mode, st.extra...), "")
			if err != nil && st.tool == cbt {
				r.failed[st.scenario][cbt] = failure(err.Error())
				fmt.Fprintf(b.log, "bench: %s, %s, %s: failed: %s\n", w.name, st.scenario, st.tool, r.failed[st.scenario][cbt])
				continue
			}
			if err != nil {
				return nil, err
			}
			record(st.scenario, st.tool, sec)
			if st.tool == plain || st.tool == hooked || st.tool == vanilla {
				if r.cpu[st.scenario] == nil {
					r.cpu[st.scenario] = map[string][]float64{}
				}
				r.cpu[st.scenario][st.tool] = append(r.cpu[st.scenario][st.tool], b.lastCPU)
			}
			if st.tool == plain || st.tool == hooked {
				k := phaseKey(st.scenario, st.tool)
				r.phases[k] = append(r.phases[k], phases(lines, sec))
			}
			if st.tool == vanilla && (st.scenario == clean || st.scenario == postInstall || st.scenario == postFixup) {
				t, order := stageTimes(lines, sec)
				k := phaseKey(st.scenario, st.tool)
				r.phases[k] = append(r.phases[k], t)
				r.stageRows = append(r.stageRows, order)
			}
			if st.tool == hooked {
				h := readHookLog(lines)
				h.scenario = st.scenario
				r.hook = append(r.hook, h)
				fmt.Fprintf(b.log, "bench: %s, %s, %s: %s\n", w.name, st.scenario, st.tool, h.decision)
				if strings.HasPrefix(h.decision, "cache directory ") {
					// The builds could not see the cache: what follows
					// would measure plain builds under hook mode's name.
					return nil, fmt.Errorf("%s, hook mode: the build did not use the cache: %s", st.scenario, h.decision)
				}
			}
			if st.scenario == clean && st.tool == vanilla {
				r.saveSec = append(r.saveSec, logSeconds(log, "vanilla: saved checkpoint:"))
				r.restoreSec = append(r.restoreSec, logSeconds(log, "vanilla: restored"))
				r.unpackSec = append(r.unpackSec, logSeconds(log, "vanilla: unpacked the source again"))
			}
		}
		if contains(chosenTools, vanilla) {
			path, err := b.outPath(args("vanilla"), "vanilla.checkpoint")
			if err != nil {
				return nil, err
			}
			if err := b.limits(r, path); err != nil {
				return nil, err
			}
		}
		r.done = rep
		if b.afterRep != nil && rep < reps {
			if err := b.afterRep(r); err != nil {
				return nil, err
			}
		}
	}
	return r, nil
}

// loadAverage is the first three fields of /proc/loadavg, or "?".
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

// newHookCache makes an empty cache directory for the hook mode in
// parent, set up as docs/cache.md says (group nixbld, setgid, writable by
// the group).
func newHookCache(parent string) (string, error) {
	dir, err := os.MkdirTemp(parent, "vanilla-bench-cache-")
	if err != nil {
		return "", err
	}
	g, err := user.LookupGroup("nixbld")
	if err != nil {
		return "", err
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		return "", err
	}
	if err := os.Chown(dir, -1, gid); err != nil {
		return "", err
	}
	return dir, os.Chmod(dir, 0o775|os.ModeSetgid)
}

// checkHookCache refuses a directory for hook mode's caches that the
// sandbox would not show the builds: the Nix sandbox mounts a tmpfs of its
// own on /dev/shm, over the extra-sandbox-paths beneath it, so every hooked
// build would build as usual.
func checkHookCache(dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if dir == "/dev/shm" || strings.HasPrefix(dir, "/dev/shm/") {
		return fmt.Errorf("hook mode's cache would be in %s, which the Nix sandbox hides under a tmpfs of its own: "+
			"pass -hook-cache with a directory elsewhere (for a cache in memory, a tmpfs mounted for it: mount -t tmpfs -o size=8g tmpfs /mnt/vanilla-cache)", dir)
	}
	return nil
}

// outPath builds an attribute and returns its store path.
func (b *bench) outPath(args map[string]string, attr string) (string, error) {
	_, log, err := b.build(args, attr)
	if err != nil {
		return "", err
	}
	first, _, _ := strings.Cut(log, "\n")
	return first, nil
}

// logSeconds finds the first log line with prefix and returns the seconds
// it ends with ("…, 1.2 s"), or 0.
func logSeconds(log, prefix string) float64 {
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) || !strings.HasSuffix(line, " s") {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-2], 64); err == nil {
			return v
		}
	}
	return 0
}

// limits extracts what the checkpoint holds and measures, on those files
// and the same disk, what tar | zstd -T0 and cp -a take, and the
// throughput of the store-hash rewrite next to a plain read.
func (b *bench) limits(r *result, ckpt string) error {
	m, err := checkpoint.ReadManifest(ckpt)
	if err != nil {
		return err
	}
	r.stats = m.Stats
	dir, err := os.MkdirTemp("", "vanilla-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tree := filepath.Join(dir, "tree")
	if err := untar(filepath.Join(ckpt, checkpoint.ArchiveFile), tree); err != nil {
		return err
	}
	start := time.Now()
	sh := exec.Command("bash", "-c", `tar -C "$1" -c . | zstd -T0 -3 -q -o "$2"`, "tar", tree, filepath.Join(dir, "tree.tar.zst"))
	if out, err := sh.CombinedOutput(); err != nil {
		return fmt.Errorf("tar | zstd: %v\n%s", err, out)
	}
	r.tarSec = append(r.tarSec, time.Since(start).Seconds())
	start = time.Now()
	if out, err := exec.Command("cp", "-a", tree, filepath.Join(dir, "copy")).CombinedOutput(); err != nil {
		return fmt.Errorf("cp -a: %v\n%s", err, out)
	}
	r.cpSec = append(r.cpSec, time.Since(start).Seconds())
	if err := os.Mkdir(filepath.Join(dir, "untar"), 0o755); err != nil {
		return err
	}
	start = time.Now()
	sh = exec.Command("bash", "-c", `zstd -d -q -c "$1" | tar -C "$2" -x`, "untar", filepath.Join(dir, "tree.tar.zst"), filepath.Join(dir, "untar"))
	if out, err := sh.CombinedOutput(); err != nil {
		return fmt.Errorf("zstd -d | tar -x: %v\n%s", err, out)
	}
	r.untarSec = append(r.untarSec, time.Since(start).Seconds())

	hashes := map[string]string{}
	for _, p := range m.Outputs {
		hashes[filepath.Base(p)[:32]] = "0000000000000000000000000000000z"[:32]
	}
	rw, err := storepath.NewRewriter(hashes)
	if err != nil {
		return err
	}
	var files [][]byte
	var total int64
	start = time.Now()
	err = filepath.Walk(tree, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		files = append(files, data)
		total += int64(len(data))
		return err
	})
	if err != nil {
		return err
	}
	read := time.Since(start).Seconds()
	start = time.Now()
	for _, data := range files {
		rw.ReplaceBytes(data)
	}
	rewrite := time.Since(start).Seconds()
	r.readMBs = float64(total) / 1e6 / max(read, 1e-6)
	r.rewriteMBs = float64(total) / 1e6 / max(rewrite, 1e-6)
	return nil
}

// untar extracts a checkpoint archive as it is, without rewriting.
func untar(archive, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := zstd.NewReader(f)
	if err != nil {
		return err
	}
	defer zr.Close()
	root, err := os.OpenRoot(filepath.Dir(dir))
	if err != nil {
		return err
	}
	defer root.Close()
	base := filepath.Base(dir)
	if err := root.Mkdir(base, 0o755); err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Join(base, strings.TrimSuffix(hdr.Name, "/"))
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = root.MkdirAll(name, 0o755)
		case tar.TypeSymlink:
			err = root.Symlink(hdr.Linkname, name)
		case tar.TypeReg:
			var out *os.File
			if out, err = root.Create(name); err == nil {
				_, err = io.Copy(out, tr)
				out.Close()
			}
		}
		if err != nil {
			return fmt.Errorf("extract %s: %w", hdr.Name, err)
		}
	}
}

// failure picks the line of a failed build's log that says why: make's
// "***" line or the first error, else the last line.
func failure(log string) string {
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	for _, l := range lines {
		if strings.Contains(l, "*** ") {
			return strings.TrimSpace(l)
		}
	}
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "error:") {
			return strings.TrimSpace(l)
		}
	}
	return strings.TrimSpace(lines[len(lines)-1])
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
