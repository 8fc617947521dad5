package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/renameio/v2"

	"github.com/nix-vanilla/nix-vanilla/pkg/checkpoint"
)

// DefaultDir is the cache directory when neither a flag nor
// $VANILLA_CACHE_DIR names one.
const DefaultDir = "/nix/var/cache/vanilla"

// Dir returns the cache directory to use: flag if set, else
// $VANILLA_CACHE_DIR if set, else DefaultDir.
func Dir(flag string) string {
	if flag != "" {
		return flag
	}
	if d := os.Getenv("VANILLA_CACHE_DIR"); d != "" {
		return d
	}
	return DefaultDir
}

// Version is the cache format this package writes and reads.
const Version = 1

// Names in the cache directory.
const (
	MarkerFile  = "vanilla-cache"
	TagFile     = "CACHEDIR.TAG"
	MaxSizeFile = "max-size"
	StatsFile   = "stats.log"
	EntriesDir  = "entries"
	TmpDir      = "tmp"
)

const (
	markerMagic = "nix-vanilla cache"
	dirMode     = 0o775
	fileMode    = 0o664
	tag         = "Signature: 8a477f597d28d172789f06886806bc55\n" +
		"# This file is a cache directory tag created by nix-vanilla.\n" +
		"# For information about cache directory tags, see https://bford.info/cachedir/\n"
)

// Cache is an open cache directory. Its methods may be called from
// several goroutines and processes at once.
type Cache struct {
	dir string
}

// Path returns the cache's directory.
func (c *Cache) Path() string { return c.dir }

// Reason says why a directory cannot be used as a cache.
type Reason string

// Reasons of an UnavailableError.
const (
	Missing     Reason = "missing"
	NotDir      Reason = "not a directory"
	NotWritable Reason = "not writable"
	Foreign     Reason = "not a vanilla cache"
	OtherFormat Reason = "another cache format"
)

// UnavailableError reports a directory that Open cannot use.
type UnavailableError struct {
	Dir    string
	Reason Reason
	Err    error // the underlying error, if any
}

func (e *UnavailableError) Error() string {
	s := fmt.Sprintf("cache directory %s: %s", e.Dir, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Open opens the cache at dir. An empty directory (or one holding only
// lost+found) is initialised. Open fails with an *UnavailableError when
// dir is missing, not a directory, not writable, holds other files
// without the marker file, or was written by another format version.
func Open(dir string) (*Cache, error) {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &UnavailableError{Dir: dir, Reason: Missing}
	case err != nil:
		return nil, &UnavailableError{Dir: dir, Reason: NotWritable, Err: err}
	case !fi.IsDir():
		return nil, &UnavailableError{Dir: dir, Reason: NotDir}
	}
	c := &Cache{dir: dir}
	if err := c.checkMarker(); err != nil {
		return nil, err
	}
	for _, d := range []string{dir, c.path(EntriesDir), c.path(TmpDir)} {
		if err := syscall.Access(d, 2 /* W_OK */); err != nil {
			return nil, &UnavailableError{Dir: dir, Reason: NotWritable, Err: &fs.PathError{Op: "access", Path: d, Err: err}}
		}
	}
	return c, nil
}

func (c *Cache) path(elem ...string) string {
	return filepath.Join(append([]string{c.dir}, elem...)...)
}

// checkMarker checks the marker file, initialising an empty directory.
func (c *Cache) checkMarker() error {
	data, err := checkpoint.ReadBounded(c.path(MarkerFile), 4096)
	if errors.Is(err, fs.ErrNotExist) {
		return c.init()
	}
	if err != nil {
		return &UnavailableError{Dir: c.dir, Reason: Foreign, Err: err}
	}
	magic, ver, ok := strings.Cut(strings.TrimSpace(string(data)), "\nversion ")
	if !ok || magic != markerMagic {
		return &UnavailableError{Dir: c.dir, Reason: Foreign, Err: fmt.Errorf("%s does not start with %q", MarkerFile, markerMagic)}
	}
	if v, err := strconv.Atoi(ver); err != nil || v != Version {
		return &UnavailableError{Dir: c.dir, Reason: OtherFormat, Err: fmt.Errorf("format %q, this nix-vanilla uses %d", ver, Version)}
	}
	// Someone may have emptied the directory but for the marker.
	for _, d := range []string{EntriesDir, TmpDir} {
		if err := mkdir(c.path(d)); err != nil && !errors.Is(err, fs.ErrExist) {
			return &UnavailableError{Dir: c.dir, Reason: NotWritable, Err: err}
		}
	}
	return nil
}

// init turns an empty directory into a cache; the marker is written
// last, so a directory whose initialisation failed is still "empty"
// unless something else wrote into it.
func (c *Cache) init() error {
	names, err := readDirNames(c.dir)
	if err != nil {
		return &UnavailableError{Dir: c.dir, Reason: NotWritable, Err: err}
	}
	for _, n := range names {
		if !initName(n) {
			if _, err := os.Lstat(c.path(MarkerFile)); err == nil {
				// Another process finished initialising since we
				// looked; its marker decides.
				return c.checkMarker()
			}
			return &UnavailableError{Dir: c.dir, Reason: Foreign, Err: fmt.Errorf("it holds %q but no %s file", n, MarkerFile)}
		}
	}
	for _, d := range []string{EntriesDir, TmpDir} {
		if err := mkdir(c.path(d)); err != nil && !errors.Is(err, fs.ErrExist) {
			return &UnavailableError{Dir: c.dir, Reason: NotWritable, Err: err}
		}
	}
	marker := fmt.Sprintf("%s\nversion %d\n", markerMagic, Version)
	for name, data := range map[string]string{TagFile: tag, MarkerFile: marker} {
		if err := c.writeFile(name, []byte(data)); err != nil {
			return &UnavailableError{Dir: c.dir, Reason: NotWritable, Err: err}
		}
	}
	return nil
}

// initName reports whether a name in a directory without a marker file
// may come from an initialisation: lost+found (the root of a fresh
// filesystem), the directories and files init writes, and renameio's
// temporary files for them ("." + name + digits) of a concurrent or
// interrupted initialisation.
func initName(n string) bool {
	switch n {
	case "lost+found", EntriesDir, TmpDir, TagFile:
		return true
	}
	for _, f := range []string{TagFile, MarkerFile} {
		if digits, ok := strings.CutPrefix(n, "."+f); ok && digits != "" && strings.Trim(digits, "0123456789") == "" {
			return true
		}
	}
	return false
}

// writeFile replaces a file of the cache directory atomically.
func (c *Cache) writeFile(name string, data []byte) error {
	return renameio.WriteFile(c.path(name), data, fileMode, renameio.WithStaticPermissions(fileMode))
}

// MaxSize returns the size limit in bytes from the max-size file; 0
// means none.
func (c *Cache) MaxSize() (int64, error) {
	data, err := checkpoint.ReadBounded(c.path(MaxSizeFile), 256)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := ParseSize(string(data))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", c.path(MaxSizeFile), err)
	}
	return n, nil
}

// SetMaxSize writes the size limit; 0 removes it.
func (c *Cache) SetMaxSize(n int64) error {
	if n < 0 {
		return fmt.Errorf("negative size limit %d", n)
	}
	if n == 0 {
		err := os.Remove(c.path(MaxSizeFile))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return c.writeFile(MaxSizeFile, []byte(strconv.FormatInt(n, 10)+"\n"))
}

// ParseSize parses a size: a number of bytes, or a number (decimals
// allowed) followed by K, M, G or T (binary multiples; "KiB", "KB" and
// lower case are accepted too).
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	num := strings.TrimRight(t, "KMGTIB")
	shift, ok := map[string]int{"": 0, "B": 0,
		"K": 10, "KB": 10, "KIB": 10, "M": 20, "MB": 20, "MIB": 20,
		"G": 30, "GB": 30, "GIB": 30, "T": 40, "TB": 40, "TIB": 40}[t[len(num):]]
	whole, frac, dot := strings.Cut(num, ".")
	if !ok || !digits(whole) || (dot && (!digits(frac) || shift == 0)) {
		return 0, fmt.Errorf("invalid size %q: expected bytes or a number with K, M, G or T", s)
	}
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || n > (1<<63-1)>>shift {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	n <<= shift
	if dot {
		f, _ := strconv.ParseFloat("0."+frac, 64)
		n += int64(f * float64(int64(1)<<shift))
	}
	return n, nil
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func mkdir(p string) error {
	if err := os.Mkdir(p, dirMode); err != nil {
		return err
	}
	return os.Chmod(p, dirMode) // whatever the umask
}

func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// now is the clock; tests replace it.
var now = time.Now
