package stage

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/google/renameio/v2"
	"golang.org/x/sync/errgroup"

	"github.com/nix-vanilla/nix-vanilla/pkg/checkpoint"
)

// Rebuilt lists the regular files of the build tree, among restored
// (relative to top), that the unwrapped stage's phases changed after the
// restore: those whose change time (ctime) is later than mark, the change
// time of the file the restore wrote last ([WriteRestored]). Any write,
// a file replaced by another, a chmod or a touch sets it; no user-space
// call can set it back. A build tool that keeps its own digests of
// command lines or environment values naming $out (SCons' .sconsign,
// waf, cargo's fingerprints, dune's database) rebuilds what the byte
// rewrite changed.
//
// The files are looked at directory by directory, each through its own
// root, on several goroutines. Before, a snapshot of the whole tree was
// taken after the restore and compared with the tree at the save: for
// Linux's 85,800 entries, 0.55–0.6 s in all (the snapshot taken on every
// core) where this takes 0.13–0.15 s (tmpfs, two cores).
func Rebuilt(top string, restored []string, mark int64) ([]string, error) {
	byDir := map[string][]string{}
	for _, rel := range restored {
		if !Skip(strings.SplitN(rel, "/", 2)[0]) {
			byDir[path.Dir(rel)] = append(byDir[path.Dir(rel)], rel)
		}
	}
	dirs := slices.Collect(maps.Keys(byDir))
	found := make([][]string, len(dirs))
	g := new(errgroup.Group)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, d := range dirs {
		g.Go(func() error {
			root, err := os.OpenRoot(filepath.Join(top, d))
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			} else if err != nil {
				return err
			}
			defer root.Close()
			for _, rel := range byDir[d] {
				fi, err := root.Lstat(path.Base(rel))
				if errors.Is(err, fs.ErrNotExist) {
					continue
				} else if err != nil {
					return fmt.Errorf("lstat %s: %w", filepath.Join(top, rel), err)
				}
				if fi.Mode().IsRegular() && checkpoint.IdentityOf(fi).Ctime > mark {
					found[i] = append(found[i], rel)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	rebuilt := slices.Concat(found...)
	slices.Sort(rebuilt)
	return rebuilt, nil
}

// WriteRestored writes, at path, the names of the regular files a
// restore left in the build tree (checkpoint.Result.TreeFiles), each
// ended by a NUL byte. Write it last: its change time marks the end of
// the restore for [Rebuilt].
func WriteRestored(path string, files []string) error {
	var b bytes.Buffer
	for _, f := range files {
		b.WriteString(f)
		b.WriteByte(0)
	}
	if err := renameio.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write the restored files' list: %w", err)
	}
	return nil
}

// readRestored reads what WriteRestored wrote: the names, and the
// file's change time.
func readRestored(p string) ([]string, int64, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, 0, fmt.Errorf("read the restored files' list: %w", err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, 0, fmt.Errorf("read the restored files' list: %w", err)
	}
	if len(data) > 0 && data[len(data)-1] != 0 {
		return nil, 0, fmt.Errorf("read the restored files' list %s: its last name is not ended by a NUL byte (not written by this helper?)", p)
	}
	names := strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
	if len(data) == 0 {
		names = nil
	}
	return names, checkpoint.IdentityOf(fi).Ctime, nil
}

// A buildTool is a build tool that keeps digests of its own, recognised by
// a file of its in the build tree.
type buildTool struct {
	name, marker string
	// inconsistent says that a partial rebuild by this tool can leave
	// the outputs disagreeing with each other.
	inconsistent bool
}

var buildTools = []buildTool{
	{"dune", "_build/.db", true},
	{"SCons", ".sconsign.dblite", false},
	{"waf", ".lock-waf_linux_build", false},
	{"cargo", "target/release/.fingerprint", false},
	{"cargo", "target/debug/.fingerprint", false},
}

// RebuiltError reports files that a build tool whose partial rebuilds can
// leave outputs inconsistent rebuilt in the unwrapped stage.
type RebuiltError struct {
	Tool  string
	Files []string
}

func (e *RebuiltError) Error() string {
	return fmt.Sprintf("%s rebuilt %d files of the checkpoint in the unwrapped stage (%s): it keeps digests of values that name the output paths, and its partial rebuild can leave the installed files disagreeing with each other",
		e.Tool, len(e.Files), firstFew(e.Files))
}

// rebuiltTool names the build tool whose marker file lies in a directory
// that holds a rebuilt file, or returns nil.
func rebuiltTool(top string, rebuilt []string) *buildTool {
	seen := map[string]bool{}
	for _, rel := range rebuilt {
		for dir := filepath.Dir(rel); !seen[dir]; dir = filepath.Dir(dir) {
			seen[dir] = true
			for i, t := range buildTools {
				if _, err := os.Lstat(filepath.Join(top, dir, t.marker)); err == nil {
					return &buildTools[i]
				}
			}
			if dir == "." {
				break
			}
		}
	}
	return nil
}

func firstFew(files []string) string {
	if len(files) > 3 {
		return strings.Join(files[:3], ", ") + ", …"
	}
	return strings.Join(files, ", ")
}

// reportRebuilt logs the files the unwrapped stage rebuilt, and fails when
// the tool that rebuilt them can leave the outputs inconsistent.
func reportRebuilt(opts SaveOptions) error {
	restored, mark, err := readRestored(opts.Restored)
	if err != nil {
		return err
	}
	rebuilt, err := Rebuilt(opts.Top, restored, mark)
	if err != nil || len(rebuilt) == 0 {
		return err
	}
	tool := rebuiltTool(opts.Top, rebuilt)
	if tool != nil && tool.inconsistent {
		return &RebuiltError{Tool: tool.name, Files: rebuilt}
	}
	if opts.Log == nil {
		return nil
	}
	why := "the build tool saw them as out of date after the restore, or the package's own commands there (installPhase, postInstall) changed them"
	if tool != nil {
		why = tool.name + " keeps digests of values that name the output paths, which the rewrite changed; the result is correct, but this work was not resumed"
	}
	fmt.Fprintf(opts.Log, "vanilla: the unwrapped stage rebuilt %d files of the checkpoint (%s): %s\n", len(rebuilt), firstFew(rebuilt), why)
	return nil
}
