package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nix-vanilla/nix-vanilla/pkg/checkpoint"
)

// The files of a prepare directory besides checkpoint.Prepare's: the lock
// the background pass holds while it runs, its process id, and what it
// printed.
const (
	prepareLock = "lock"
	preparePID  = "pid"
	prepareLog  = "log"
)

// prepare starts checkpoint.Prepare in the background for the save at the
// end of the stage, and returns at once. The hook runs it after
// unpackPhase; the save's -prepared stops it first. The pass runs as a
// process of its own, not a job of the builder's shell (whose `wait` and
// job numbers the package's phases may use), at the lowest CPU priority,
// so that it takes the time the build leaves idle; it stops on its own
// once the builder is gone (a failed build).
func prepare(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("prepare", flag.ContinueOnError)
	top := fs.String("top", "", "the build directory ($NIX_BUILD_TOP)")
	snap := fs.String("snapshot", "", "the snapshot taken after unpackPhase")
	to := fs.String("to", "", "the directory to write into (the save's -prepared)")
	builder := fs.Int("builder-pid", 0, "the builder's process ($$ in the setup hook): the pass stops when it is gone")
	background := fs.Bool("background", false, "run the pass here (the process prepare starts; the lock is file descriptor 3)")
	sc := addSourceCopyFlags(fs)
	if err := parse(fs, stdout, args, "top", "snapshot", "to", "builder-pid"); err != nil {
		return err
	}
	policy, err := sc.policy()
	if err != nil {
		return usageError{err}
	}
	if *background {
		return preparePass(ctx, *top, *snap, *to, *builder, policy)
	}
	if err := os.RemoveAll(*to); err != nil {
		return err
	}
	if err := os.MkdirAll(*to, 0o755); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(*to, prepareLock), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := lockFile(lock, false); err != nil {
		return fmt.Errorf("prepare: lock %s: %w", lock.Name(), err)
	}
	log, err := os.Create(filepath.Join(*to, prepareLog))
	if err != nil {
		return err
	}
	defer log.Close()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, append([]string{"prepare", "-background"}, args...)...)
	cmd.Args[0] = "vanilla" // the name the tests' binary answers to too
	cmd.Stdout, cmd.Stderr = log, log
	// The child holds the lock (the same open file) until it exits.
	cmd.ExtraFiles = []*os.File{lock}
	detach(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	pid := cmd.Process.Pid
	_ = cmd.Process.Release()
	return os.WriteFile(filepath.Join(*to, preparePID), []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

// preparePass is the background process.
func preparePass(ctx context.Context, top, snap, to string, builder int, policy func(int, int64) bool) error {
	lowerPriority()
	s, err := checkpoint.ReadSnapshot(snap)
	if err != nil {
		return err
	}
	// The save decides on the files still left to the source; this
	// guesses from all of them (a wrong guess costs only time).
	var files int
	var size int64
	for _, id := range s.Entries {
		if id.Mode.IsRegular() {
			files++
			size += id.Size
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	orphaned := make(chan struct{})
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if !alive(builder) {
					close(orphaned)
					cancel()
					return
				}
			}
		}
	}()
	_, err = checkpoint.Prepare(ctx, checkpoint.PrepareOptions{
		Top: top, Snapshot: s, Dir: to, Copy: policy != nil && policy(files, size),
	})
	select {
	case <-orphaned:
		// The build failed: no save will read it. (In hook mode the
		// directory is in the cache, whose gc removes a build's work
		// directory only after a week.)
		return os.RemoveAll(to)
	default:
	}
	return err
}

// stopPrepare stops the background pass writing into dir, if it still
// runs, and waits until it has: the save then reads what it recorded.
// It returns what the pass printed (an error), if anything.
func stopPrepare(dir string) (string, error) {
	lock, err := os.OpenFile(filepath.Join(dir, prepareLock), os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil // never started
	}
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if lockFile(lock, false) != nil {
		b, err := os.ReadFile(filepath.Join(dir, preparePID))
		if err != nil {
			return "", err
		}
		pid, err := strconv.Atoi(string(bytes.TrimSpace(b)))
		if err != nil {
			return "", fmt.Errorf("%s: %w", filepath.Join(dir, preparePID), err)
		}
		terminate(pid)
		if err := lockFile(lock, true); err != nil {
			return "", err
		}
	}
	log, _ := os.ReadFile(filepath.Join(dir, prepareLog))
	return string(bytes.TrimSpace(log)), nil
}

// stopPrepared serves a save's -prepared: it stops the pass and reports
// what it printed.
func stopPrepared(dir string, stdout io.Writer) error {
	if dir == "" {
		return nil
	}
	msg, err := stopPrepare(dir)
	if err != nil {
		return fmt.Errorf("stop the background pass: %w", err)
	}
	if msg != "" {
		fmt.Fprintf(stdout, "vanilla: warning: the background pass failed, the save did its work: %s\n", msg)
	}
	return nil
}
