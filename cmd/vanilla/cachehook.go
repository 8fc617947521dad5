package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/nix-vanilla/nix-vanilla/pkg/cache"
	"github.com/nix-vanilla/nix-vanilla/pkg/cachekey"
	"github.com/nix-vanilla/nix-vanilla/pkg/drvattrs"
	"github.com/nix-vanilla/nix-vanilla/pkg/resume"
)

// cacheHookCommands are the `vanilla cache` subcommands the setup hook
// runs in a build with vanillaHook (hook mode). None of them may fail the
// build because of the cache: the hook builds as usual when one fails.
var cacheHookCommands = map[string]func(context.Context, []string, io.Writer) error{
	"lookup":  cacheLookup,
	"restore": cacheRestore,
	"store":   cacheStore,
	"rerun":   cacheRerun,
	"check":   cacheCheck,
}

// The files of the hook's work directory that cacheRerun needs: the
// builder's command line and initial environment, as /proc holds them.
const (
	cmdlineFile = "cmdline"
	environFile = "environ"
	exeFile     = "exe"
)

// sandboxAdvice says, for a cache directory a build cannot use, what to
// look at: a directory under /dev/shm is hidden by the tmpfs the Nix
// sandbox mounts there after the extra-sandbox-paths, so it is missing
// in every sandboxed build however the host has it.
func sandboxAdvice(err error) string {
	var u *cache.UnavailableError
	if errors.As(err, &u) && u.Reason == cache.Missing && underDir(u.Dir, "/dev/shm") {
		return "the Nix sandbox mounts a tmpfs of its own on /dev/shm, which hides a cache there; " +
			"put the cache elsewhere, on a tmpfs of its own if it should be in memory (docs/cache.md)"
	}
	return "docs/cache.md says how to set the cache up"
}

// underDir reports whether path is dir or inside it (both clean and
// absolute, as cache directories are).
func underDir(path, dir string) bool {
	path = filepath.Clean(path)
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// rerunVar, set in the environment of a build that runs again from
// scratch, says why; the hook then leaves the cache alone.
const rerunVar = "VANILLA_CACHE_OFF"

// cacheLookup prints shell assignments for the hook: the mode (off, miss
// or hit), the point and key of a hit. The decision's log line goes to
// standard error, which the build log shows.
func cacheLookup(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("cache lookup", flag.ContinueOnError)
	dir := fs.String("dir", "", "the cache directory (else $VANILLA_CACHE_DIR, else "+cache.DefaultDir+")")
	name := fs.String("name", "", "the derivation's name")
	readAttrs := attrsFlag(fs)
	if err := parse(fs, stdout, args, "name"); err != nil {
		return err
	}
	say := func(mode string, kv ...string) {
		fmt.Fprintf(stdout, "_vanillaCacheMode=%s\n", mode)
		for i := 0; i+1 < len(kv); i += 2 {
			fmt.Fprintf(stdout, "%s=%s\n", kv[i], shellQuote(kv[i+1]))
		}
	}
	d := cache.Dir(*dir)
	c, err := cache.Open(d)
	if err != nil {
		fmt.Fprintf(os.Stderr, "vanilla: %v; building as usual (%s)\n", err, sandboxAdvice(err))
		say("off")
		return nil
	}
	attrs, err := readAttrs()
	if err != nil {
		return err
	}
	// The hook's files stay out of the build directory, where the
	// package's phases would see them.
	work, err := c.WorkDir()
	if err != nil {
		fmt.Fprintf(os.Stderr, "vanilla: %v; building as usual\n", err)
		say("off")
		return nil
	}
	if err := keepBuilder(*readPID(fs), work); err != nil {
		os.RemoveAll(work)
		fmt.Fprintf(os.Stderr, "vanilla: cannot write the hook's work directory in the cache: %v; building as usual\n", err)
		say("off")
		return nil
	}
	dec, err := resume.Lookup(resume.LookupOptions{Cache: c, Attrs: attrs, Name: *name, Log: os.Stderr})
	if err != nil {
		return err
	}
	if dec.Hit {
		say("hit", "_vanillaCachePoint", string(dec.Point), "_vanillaCacheKey", dec.Key, "_vanillaCacheDir", d, "_vanillaWork", work)
		return nil
	}
	fmt.Fprintf(os.Stderr, "vanilla: cache miss %s: %s\n", dec.Key[:12], dec.Reason)
	_ = c.Record(cache.Event{Kind: cache.Miss, Key: dec.Key, Name: *name, Reason: dec.Category})
	say("miss", "_vanillaCacheDir", d, "_vanillaWork", work)
	return nil
}

// readPID returns the value of the -builder-pid flag attrsFlag added.
func readPID(fs *flag.FlagSet) *int {
	v, _ := strconv.Atoi(fs.Lookup("builder-pid").Value.String())
	return &v
}

// keepBuilder copies the builder's command line and initial environment
// into work, for cacheRerun.
func keepBuilder(pid int, work string) error {
	if pid == 0 {
		return usageError{errors.New("-builder-pid is required")}
	}
	if err := os.MkdirAll(work, 0o700); err != nil {
		return err
	}
	p, err := drvattrs.ReadProcess(pid)
	if err != nil {
		return err
	}
	for f, data := range map[string][]byte{cmdlineFile: p.Cmdline, environFile: p.Environ, exeFile: []byte(p.Exe)} {
		if err := os.WriteFile(filepath.Join(work, f), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// buildFlags are the flags of the hook's commands that act on the build.
type buildFlags struct {
	dir, top, fresh *string
	outs            outputs
	readAttrs       func() (drvattrs.Attrs, error)
}

func addBuildFlags(fs *flag.FlagSet) *buildFlags {
	b := &buildFlags{
		dir:   fs.String("dir", "", "the cache directory"),
		top:   fs.String("top", "", "the build directory ($NIX_BUILD_TOP)"),
		fresh: fs.String("fresh", "", "the shell state before the first phase"),
		outs:  outputs{},
	}
	b.readAttrs = attrsFlag(fs)
	fs.Var(b.outs, "output", "an output as NAME=PATH (repeat for each)")
	return b
}

// open opens the cache and reads the build's attributes.
func (b *buildFlags) open() (*cache.Cache, drvattrs.Attrs, error) {
	c, err := cache.Open(*b.dir)
	if err != nil {
		return nil, nil, err
	}
	attrs, err := b.readAttrs()
	return c, attrs, err
}

func cacheRestore(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("cache restore", flag.ContinueOnError)
	b := addBuildFlags(fs)
	key := fs.String("key", "", "the entry's key")
	point := fs.String("point", "", "the entry's resume point: build or install")
	script := fs.String("script", "", "where to write the script that replays the shell state")
	earlier := fs.String("earlier", "", "where to write the store hashes of the entry's outputs, for cache check")
	src := addSourceFlags(fs)
	if err := parse(fs, stdout, args, "dir", "key", "point", "top", "fresh", "script", "earlier"); err != nil {
		return err
	}
	c, attrs, err := b.open()
	if err != nil {
		return err
	}
	return resume.Restore(ctx, resume.RestoreOptions{
		Cache: c, Key: *key, Point: cachekey.Point(*point), Top: *b.top, Fresh: *b.fresh, Script: *script,
		Earlier: *earlier, Outputs: b.outs, Attrs: attrs, Log: stdout,
		Sources: src.srcs, SourceThreads: *src.threads, SourceCopy: *src.copy,
	})
}

func cacheStore(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("cache store", flag.ContinueOnError)
	b := addBuildFlags(fs)
	point := fs.String("point", "", "the resume point: build or install")
	name := fs.String("name", "", "the derivation's name")
	snap := fs.String("snapshot", "", "the snapshot taken after unpackPhase, if any")
	end := fs.String("end", "", "the shell state at the resume point")
	maxSize := fs.String("max-size", "", "the cache's size limit for this build (vanillaCacheMaxSize)")
	prepared := fs.String("prepared", "", "the directory of a `vanilla prepare` run during the build, if any")
	sc := addSourceCopyFlags(fs)
	if err := parse(fs, stdout, args, "dir", "point", "name", "top", "fresh", "end"); err != nil {
		return err
	}
	copyPolicy, err := sc.policy()
	if err != nil {
		return usageError{err}
	}
	var limit int64
	if *maxSize != "" {
		n, err := cache.ParseSize(*maxSize)
		if err != nil {
			return usageError{fmt.Errorf("-max-size: %w", err)}
		}
		limit = n
	}
	c, attrs, err := b.open()
	if err != nil {
		return err
	}
	if err := stopPrepared(*prepared, stdout); err != nil {
		return err
	}
	return resume.Store(resume.StoreOptions{
		Cache: c, Point: cachekey.Point(*point), Attrs: attrs, Name: *name, Top: *b.top, Snapshot: *snap,
		Fresh: *b.fresh, End: *end, Outputs: b.outs, MaxSize: limit, SourceCopy: copyPolicy, Prepared: *prepared, Log: stdout,
	})
}

// cacheCheck fails when the outputs of a resumed build still hold the
// store hashes of the invocation that stored the entry: a build-tree file
// the restore could not rewrite (inside compressed data) that a later
// phase installed. The hook then runs the build again from scratch.
func cacheCheck(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("cache check", flag.ContinueOnError)
	earlier := fs.String("earlier", "", "the file cache restore wrote")
	outs := outputs{}
	fs.Var(outs, "output", "an output as NAME=PATH (repeat for each)")
	if err := parse(fs, stdout, args, "earlier"); err != nil {
		return err
	}
	data, err := os.ReadFile(*earlier)
	if err != nil {
		return err
	}
	return resume.Check(ctx, strings.Fields(string(data)), outs)
}

// cacheRerun starts the build again from scratch, without the cache: it
// removes the entry the build resumed from (a well-formed entry that made
// a later phase fail), empties the build directory and the outputs, and
// executes the builder again, with its initial environment and rerunVar
// set to the reason. It only returns on error.
func cacheRerun(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("cache rerun", flag.ContinueOnError)
	dir := fs.String("dir", "", "the cache directory")
	key := fs.String("key", "", "the entry the build resumed from, removed")
	work := fs.String("work", "", "the hook's work directory (cache lookup kept the builder there)")
	top := fs.String("top", "", "the build directory ($NIX_BUILD_TOP)")
	reason := fs.String("reason", "", "why, for the log")
	outs := outputs{}
	fs.Var(outs, "output", "an output as NAME=PATH (repeat for each)")
	if err := parse(fs, stdout, args, "work", "top", "reason"); err != nil {
		return err
	}
	cmdline, err := os.ReadFile(filepath.Join(*work, cmdlineFile))
	if err != nil {
		return err
	}
	environ, err := os.ReadFile(filepath.Join(*work, environFile))
	if err != nil {
		return err
	}
	exe, err := os.ReadFile(filepath.Join(*work, exeFile))
	if err != nil {
		return err
	}
	argv := splitNul(cmdline)
	if len(argv) == 0 {
		return errors.New("rerun: the builder's command line is empty")
	}
	if *dir != "" && *key != "" {
		if c, err := cache.Open(*dir); err == nil {
			if err := c.Remove(*key); err == nil {
				fmt.Fprintf(stdout, "vanilla: removed cache entry %s\n", (*key)[:min(12, len(*key))])
			}
			why := "a later phase failed after a resume"
			switch {
			case strings.HasPrefix(*reason, "restoring"):
				why = "restore failed"
			case strings.HasPrefix(*reason, "the outputs hold"):
				why = "stale store hashes in the outputs after a resume"
			}
			_ = c.Record(cache.Event{Kind: cache.Miss, Key: *key, Reason: why})
		}
	}
	fmt.Fprintf(stdout, "vanilla: %s; running the build again from scratch without the cache\n", *reason)
	if err := resume.Clean(*top, outs); err != nil {
		return fmt.Errorf("rerun: empty the build directory: %w", err)
	}
	if err := os.RemoveAll(*work); err != nil {
		return fmt.Errorf("rerun: %w", err)
	}
	if err := os.Chdir(*top); err != nil {
		return fmt.Errorf("rerun: %w", err)
	}
	env := append(splitNul(environ), rerunVar+"="+*reason)
	return fmt.Errorf("rerun: execute %s: %w", exe, syscall.Exec(string(exe), argv, env))
}

func splitNul(b []byte) []string {
	var out []string
	for _, s := range strings.Split(string(b), "\x00") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
