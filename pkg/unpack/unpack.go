package unpack

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"
)

// A File is one file to bring back, as a checkpoint lists it.
type File struct {
	// Name is a clean relative path below Options.Top.
	Name  string
	Size  int64
	Mode  fs.FileMode
	Mtime int64 // nanoseconds since the epoch
	// Digest is the SHA-256 of the content.
	Digest []byte
}

// Options say what Unpack brings back, and from where.
type Options struct {
	// Top is the build directory ($NIX_BUILD_TOP), where unpackPhase
	// runs; none of the files' top-level names may exist in it.
	Top string
	// Sources are the derivation's sources in unpackPhase's order: $srcs,
	// or $src.
	Sources []string
	// Files are the files to bring back.
	Files []File
	// Threads is the number of threads the decompressor may use
	// (NIX_BUILD_CORES); 0 means runtime.GOMAXPROCS.
	Threads int
	// Workers is the number of goroutines creating files; 0 means
	// runtime.GOMAXPROCS + 1 (file creation is mostly kernel time).
	Workers int
	// LookPath finds a program (xz, bzip2); nil means exec.LookPath.
	LookPath func(file string) (string, error)
	// Limit, when positive, bounds the tar data read from all the
	// tarballs together: a source that decompresses to more is not
	// reproduced; it also bounds a zstd frame's window to 64 MiB. For
	// sources that are not trusted (a checkpoint's source copy), so that
	// a small file cannot make Unpack read without end or take the
	// memory a 16 GiB window asks for.
	Limit int64
}

// Result reports what Unpack did.
type Result struct {
	// Files and Bytes count the files written (hard links included in
	// Files, not in Bytes).
	Files int
	Bytes int64
	// Created lists the top-level names Unpack created in Top.
	Created []string
	// Verified holds the names of the files written: their content was
	// checked against File.Digest.
	Verified map[string]bool
	// Elapsed is the time Unpack took.
	Elapsed time.Duration
	top     string
}

// Remove removes everything Unpack created.
func (r *Result) Remove() error {
	return removeCreated(r.top, r.Created)
}

// NotReproducedError reports that Unpack could not bring back the files
// from the sources; it removed what it had created. Source is the source
// concerned, if one is; Path the file, if one is.
type NotReproducedError struct {
	Source string
	Path   string
	Err    error
}

func (e *NotReproducedError) Error() string {
	var b strings.Builder
	b.WriteString("cannot unpack the source itself")
	if e.Source != "" {
		fmt.Fprintf(&b, " (%s)", e.Source)
	}
	b.WriteString(": ")
	if e.Path != "" {
		fmt.Fprintf(&b, "%s: ", strconv.Quote(e.Path))
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *NotReproducedError) Unwrap() error { return e.Err }

// inFlight bounds the bytes read from the sources and not yet written.
const inFlight = 64 << 20

// Unpack writes opts.Files into opts.Top from opts.Sources. On failure
// it leaves Top as it found it and returns a *NotReproducedError.
func Unpack(ctx context.Context, opts Options) (*Result, error) {
	u, err := newUnpacker(opts)
	if err != nil {
		return nil, err
	}
	defer u.root.Close()
	start := time.Now()
	err = u.run(ctx)
	res := &Result{Files: u.files, Bytes: u.bytes, Created: u.createdTop, Verified: u.verified, Elapsed: time.Since(start), top: opts.Top}
	if err != nil {
		var nr *NotReproducedError
		if !errors.As(err, &nr) {
			err = &NotReproducedError{Err: err}
		}
		if rerr := res.Remove(); rerr != nil {
			nr.Err = fmt.Errorf("%w (and removing what was unpacked failed: %v)", nr.Err, rerr)
		}
		return nil, err
	}
	return res, nil
}

type unpacker struct {
	opts Options
	root *os.Root
	// want maps each file's name to it; taken marks the ones a source
	// provided.
	want  map[string]*File
	taken map[string]bool
	// ancestors holds every directory above a wanted file.
	ancestors map[string]bool
	// dirs maps the directories scheduled for creation to a channel
	// closed once created ("." is created).
	dirs map[string]chan struct{}
	// dirSources maps a directory source's name in Top to its path.
	dirSources map[string]string
	links      []link
	// group maps a hard link's name to the file it links to.
	group  map[string]string
	queues []chan task
	sem    *semaphore.Weighted

	mu         sync.Mutex // guards what the workers record below
	createdTop []string
	verified   map[string]bool
	files      int
	bytes      int64

	// left is what Options.Limit leaves to read (dispatch's alone).
	left int64
}

type link struct{ name, target string }

// A task is a directory to create or a file to write, in the queue of
// the worker that owns its parent directory.
type task struct {
	dir  bool
	name string
	file *File
	data []byte // nil: read from from
	from string
	held int64 // semaphore weight to release
	// parent is closed once the parent directory exists; created, of
	// a directory task, is closed once it does.
	parent, created chan struct{}
}

func newUnpacker(opts Options) (*unpacker, error) {
	if opts.Threads <= 0 {
		opts.Threads = runtime.GOMAXPROCS(0)
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0) + 1
	}
	root, err := os.OpenRoot(opts.Top)
	if err != nil {
		return nil, &NotReproducedError{Err: err}
	}
	u := &unpacker{opts: opts, root: root, want: map[string]*File{}, taken: map[string]bool{}, ancestors: map[string]bool{},
		dirs: map[string]chan struct{}{}, dirSources: map[string]string{}, group: map[string]string{}, verified: map[string]bool{}, sem: semaphore.NewWeighted(inFlight)}
	u.left = opts.Limit
	done := make(chan struct{})
	close(done)
	u.dirs["."] = done
	for i := range opts.Files {
		f := &opts.Files[i]
		if !clean(f.Name) {
			root.Close()
			return nil, &NotReproducedError{Path: f.Name, Err: errors.New("not a clean relative path")}
		}
		if u.want[f.Name] != nil {
			root.Close()
			return nil, &NotReproducedError{Path: f.Name, Err: errors.New("listed twice")}
		}
		u.want[f.Name] = f
		for d := path.Dir(f.Name); d != "." && !u.ancestors[d]; d = path.Dir(d) {
			u.ancestors[d] = true
		}
	}
	for _, f := range opts.Files {
		if u.ancestors[f.Name] {
			root.Close()
			return nil, &NotReproducedError{Path: f.Name, Err: errors.New("listed as a file and as a directory")}
		}
	}
	return u, nil
}

// linked is the file a name is a hard link of, or the name.
func (u *unpacker) linked(name string) string {
	for {
		t, ok := u.group[name]
		if !ok {
			return name
		}
		name = t
	}
}

func clean(name string) bool {
	return name != "" && name != "." && path.Clean(name) == name && !path.IsAbs(name) &&
		name != ".." && !strings.HasPrefix(name, "../")
}

func (u *unpacker) run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	u.queues = make([]chan task, u.opts.Workers)
	for i := range u.queues {
		q := make(chan task, 256)
		u.queues[i] = q
		g.Go(func() error {
			dirs := &dirCache{top: u.root, open: map[string]*os.Root{}}
			defer dirs.close()
			for t := range q {
				if err := u.do(ctx, t, dirs); err != nil {
					// Drain so that the dispatcher never blocks on a
					// worker that stopped.
					go func() {
						for t := range q {
							u.sem.Release(t.held)
						}
					}()
					return err
				}
			}
			return nil
		})
	}
	err := u.dispatch(ctx)
	for _, q := range u.queues {
		close(q)
	}
	if werr := g.Wait(); werr != nil && (err == nil || errors.Is(err, context.Canceled)) {
		err = werr
	}
	if err != nil {
		return err
	}
	for _, l := range u.links {
		if err := u.root.Link(l.target, l.name); err != nil {
			return &NotReproducedError{Path: l.name, Err: err}
		}
		u.created(l.name)
		u.wrote(l.name, 0)
	}
	return nil
}

// dispatch reads the sources in order and queues the wanted files.
func (u *unpacker) dispatch(ctx context.Context) error {
	var tars []string
	for _, src := range u.opts.Sources {
		fi, err := os.Stat(src)
		if err != nil {
			return &NotReproducedError{Source: src, Err: err}
		}
		if fi.IsDir() {
			name := stripHash(filepath.Base(src))
			if _, dup := u.dirSources[name]; dup {
				return &NotReproducedError{Source: src, Err: fmt.Errorf("two source directories named %q", name)}
			}
			u.dirSources[name] = src
			if err := u.copyDir(ctx, src, name); err != nil {
				return err
			}
			continue
		}
		if !tarName(src) {
			return &NotReproducedError{Source: src, Err: errors.New("neither a directory nor a tarball: an unpackCmd or a setup hook unpacks it")}
		}
		tars = append(tars, src)
	}
	for _, src := range tars {
		if err := u.extract(ctx, src); err != nil {
			var nr *NotReproducedError
			if errors.As(err, &nr) && nr.Source == "" {
				nr.Source = src
			} else if !errors.As(err, &nr) {
				err = &NotReproducedError{Source: src, Err: err}
			}
			return err
		}
	}
	for _, f := range u.opts.Files {
		if !u.taken[f.Name] {
			return &NotReproducedError{Path: f.Name, Err: errors.New("in none of the sources (an unpackCmd, a postUnpack or a custom unpackPhase made it)")}
		}
	}
	return nil
}

var hashPrefix = regexp.MustCompile(`^[a-z0-9]{32}-`)

// stripHash is setup.sh's stripHash: the name without a store hash.
func stripHash(name string) string {
	if hashPrefix.MatchString(name) {
		return name[33:]
	}
	return name
}

// tarName reports whether _defaultUnpack treats the file as a tarball.
func tarName(p string) bool {
	b := filepath.Base(p)
	for _, s := range []string{".tar", ".tgz", ".tbz2", ".tbz", ".txz", ".tar.lzma"} {
		if strings.HasSuffix(b, s) {
			return true
		}
	}
	return strings.Contains(b, ".tar.")
}

// copyDir queues the wanted files below name, a copy of the source
// directory src (cp -pr), in the order src lists them.
func (u *unpacker) copyDir(ctx context.Context, src, name string) error {
	if u.want[name] != nil {
		return &NotReproducedError{Source: src, Path: name, Err: errors.New("a directory in the source, a file in the checkpoint")}
	}
	if !u.ancestors[name] {
		return nil
	}
	var walk func(dir, rel string) error
	walk = func(dir, rel string) error {
		f, err := os.Open(dir)
		if err != nil {
			return &NotReproducedError{Source: src, Err: err}
		}
		names, err := f.Readdirnames(-1)
		f.Close()
		if err != nil {
			return &NotReproducedError{Source: src, Err: err}
		}
		if err := u.ensureDir(ctx, rel); err != nil {
			return err
		}
		for _, n := range names {
			p, r := filepath.Join(dir, n), path.Join(rel, n)
			if w := u.want[r]; w != nil {
				fi, err := os.Lstat(p)
				if err != nil {
					return &NotReproducedError{Source: src, Err: err}
				}
				if !fi.Mode().IsRegular() {
					return &NotReproducedError{Source: src, Path: r, Err: fmt.Errorf("a %v in the source, a regular file in the checkpoint", fi.Mode().Type())}
				}
				if fi.Size() != w.Size {
					return &NotReproducedError{Source: src, Path: r, Err: fmt.Errorf("%d bytes in the source, %d in the checkpoint", fi.Size(), w.Size)}
				}
				if err := u.queueFile(ctx, w, nil, p); err != nil {
					return err
				}
			} else if u.ancestors[r] {
				// cp -pr copies a symlink as a symlink: nothing below one.
				if fi, err := os.Lstat(p); err != nil || !fi.IsDir() {
					return &NotReproducedError{Source: src, Path: r, Err: errors.New("not a directory in the source, a directory in the checkpoint")}
				}
				if err := walk(p, r); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(src, name)
}

// extract queues the wanted files of a tarball, as `tar xf` in Top
// would extract them.
func (u *unpacker) extract(ctx context.Context, src string) error {
	var maxWindow uint64
	if u.opts.Limit > 0 {
		maxWindow = 64 << 20 // the checkpoint package writes 8 MiB frames
	}
	r, closeFn, err := decompress(src, u.opts.Threads, u.opts.LookPath, maxWindow)
	if err != nil {
		return err
	}
	if u.opts.Limit > 0 {
		r = &limitReader{r: r, left: &u.left, limit: u.opts.Limit}
	}
	// tar reads in blocks of 512 bytes: from a pipe, that is a syscall
	// each without a buffer.
	err = u.extractFrom(ctx, tar.NewReader(bufio.NewReaderSize(r, 1<<20)))
	if cerr := closeFn(err != nil); err == nil && cerr != nil {
		err = cerr
	}
	return err
}

func (u *unpacker) extractFrom(ctx context.Context, tr *tar.Reader) error {
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name, ok := memberName(hdr.Name)
		if !ok {
			continue // tar refuses such names too
		}
		if first, _, _ := strings.Cut(name, "/"); u.dirSources[first] != "" {
			if u.want[name] != nil || u.ancestors[name] {
				return &NotReproducedError{Path: name, Err: errors.New("in a tarball and in a source directory")}
			}
			continue
		}
		w := u.want[name]
		switch hdr.Typeflag {
		case tar.TypeDir:
			if w != nil {
				return &NotReproducedError{Path: name, Err: errors.New("a directory in the tarball, a regular file in the checkpoint")}
			}
			if u.ancestors[name] {
				if err := u.ensureDir(ctx, name); err != nil {
					return err
				}
			}
			continue
		case tar.TypeReg, tar.TypeGNUSparse: // archive/tar reads old regular files and sparse files as these
		case tar.TypeLink:
			if w == nil {
				continue
			}
			target, ok := memberName(hdr.Linkname)
			if ok && u.taken[name] && u.linked(name) == u.linked(target) {
				// A file added twice: GNU tar records the second as a
				// hard link to the first or to itself (binutils'
				// COPYING); tar's relinking leaves the same file.
				continue
			}
			if !ok || !u.taken[target] || u.want[target].Size != w.Size || !bytes.Equal(u.want[target].Digest, w.Digest) {
				return &NotReproducedError{Path: name, Err: fmt.Errorf("a hard link to %q, which is not a file of the checkpoint's with the same content", hdr.Linkname)}
			}
			if u.taken[name] {
				return &NotReproducedError{Path: name, Err: errors.New("more than once in the sources")}
			}
			u.taken[name] = true
			if err := u.ensureDir(ctx, path.Dir(name)); err != nil {
				return err
			}
			u.links = append(u.links, link{name: name, target: target})
			u.group[name] = u.linked(target)
			continue
		default:
			if w != nil {
				return &NotReproducedError{Path: name, Err: fmt.Errorf("tar type %q in the tarball, a regular file in the checkpoint", hdr.Typeflag)}
			}
			continue
		}
		if w == nil {
			continue
		}
		if hdr.Size != w.Size {
			return &NotReproducedError{Path: name, Err: fmt.Errorf("%d bytes in the tarball, %d in the checkpoint", hdr.Size, w.Size)}
		}
		held := min(w.Size, inFlight)
		if err := u.sem.Acquire(ctx, held); err != nil {
			return err
		}
		data := make([]byte, w.Size)
		if _, err := io.ReadFull(tr, data); err != nil {
			u.sem.Release(held)
			return err
		}
		if err := u.queue(ctx, task{name: name, file: w, data: data, held: held}); err != nil {
			return err
		}
	}
}

// A limitReader reads at most limit bytes through all the limitReaders
// sharing left (which starts at limit), and fails when the data goes on
// beyond them. Bytes past the limit are never handed on, so a reader
// that needs them meets the error even when the underlying reader
// returned them with the last bytes it had.
type limitReader struct {
	r     io.Reader
	left  *int64
	limit int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if *l.left <= 0 {
		var b [1]byte
		if n, err := l.r.Read(b[:]); n == 0 {
			return 0, err
		}
		return 0, &NotReproducedError{Err: fmt.Errorf("more than %d bytes of tar data, the most the files unpacked from it can take", l.limit)}
	}
	if int64(len(p)) > *l.left {
		p = p[:*l.left]
	}
	n, err := l.r.Read(p)
	*l.left -= int64(n)
	return n, err
}

// memberName is where tar xf puts a member: leading slashes and ./
// dropped; ok is false for names tar refuses (with ..).
func memberName(n string) (string, bool) {
	n = strings.TrimLeft(n, "/")
	for strings.HasPrefix(n, "./") {
		n = strings.TrimLeft(n[2:], "/")
	}
	n = strings.TrimRight(n, "/")
	if n == "" || n == "." {
		return "", false
	}
	for _, c := range strings.Split(n, "/") {
		if c == ".." {
			return "", false
		}
	}
	return path.Clean(n), true
}

// queueFile queues a wanted file whose content is data or, when data is
// nil, the file at from.
func (u *unpacker) queueFile(ctx context.Context, w *File, data []byte, from string) error {
	held := min(w.Size, inFlight)
	if err := u.sem.Acquire(ctx, held); err != nil {
		return err
	}
	return u.queue(ctx, task{name: w.Name, file: w, data: data, from: from, held: held})
}

// queue hands a task to the worker of its parent directory, which it
// schedules first.
func (u *unpacker) queue(ctx context.Context, t task) error {
	if !t.dir {
		if u.taken[t.name] {
			u.sem.Release(t.held)
			return &NotReproducedError{Path: t.name, Err: errors.New("more than once in the sources")}
		}
		u.taken[t.name] = true
	}
	parent := path.Dir(t.name)
	if err := u.ensureDir(ctx, parent); err != nil {
		u.sem.Release(t.held)
		return err
	}
	t.parent = u.dirs[parent]
	select {
	case u.queues[u.worker(parent)] <- t:
		return nil
	case <-ctx.Done():
		u.sem.Release(t.held)
		return ctx.Err()
	}
}

// ensureDir schedules the creation of directory d and its parents.
func (u *unpacker) ensureDir(ctx context.Context, d string) error {
	if _, ok := u.dirs[d]; ok {
		return nil
	}
	if err := u.ensureDir(ctx, path.Dir(d)); err != nil {
		return err
	}
	created := make(chan struct{})
	u.dirs[d] = created
	return u.queue(ctx, task{dir: true, name: d, created: created})
}

func (u *unpacker) worker(dir string) int {
	h := fnv.New32a()
	h.Write([]byte(dir))
	return int(h.Sum32() % uint32(len(u.queues)))
}

// do carries out a task once its parent directory exists. Every task
// waits only for directories queued before it, and each worker takes
// its tasks in the order queued, so the oldest unfinished task can
// always run.
func (u *unpacker) do(ctx context.Context, t task, dirs *dirCache) error {
	defer u.sem.Release(t.held)
	select {
	case <-t.parent:
	case <-ctx.Done():
		return ctx.Err()
	}
	parent, err := dirs.get(path.Dir(t.name))
	if err != nil {
		return &NotReproducedError{Path: path.Dir(t.name), Err: err}
	}
	if t.dir {
		if err := parent.Mkdir(path.Base(t.name), 0o755); err != nil {
			return &NotReproducedError{Path: t.name, Err: err}
		}
		u.created(t.name)
		close(t.created)
		return nil
	}
	return u.write(t, parent)
}

// dirCacheSize is how many directories a worker keeps open: tar lists a
// directory's entries together, so few are needed, and the limit on open
// files is far.
const dirCacheSize = 16

// A dirCache holds the roots of the directories a worker filled last, so
// that creating a file walks no path: every operation is relative to its
// directory's descriptor (an os.Root resolves each component of a longer
// name with a syscall of its own).
type dirCache struct {
	top   *os.Root
	open  map[string]*os.Root
	order []string // least recently used first
}

func (c *dirCache) get(dir string) (*os.Root, error) {
	if dir == "." {
		return c.top, nil
	}
	if r, ok := c.open[dir]; ok {
		if c.order[len(c.order)-1] != dir {
			c.order = append(slices.DeleteFunc(c.order, func(d string) bool { return d == dir }), dir)
		}
		return r, nil
	}
	r, err := c.top.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	if len(c.order) == dirCacheSize {
		c.open[c.order[0]].Close()
		delete(c.open, c.order[0])
		c.order = c.order[1:]
	}
	c.open[dir] = r
	c.order = append(c.order, dir)
	return r, nil
}

func (c *dirCache) close() {
	for _, r := range c.open {
		r.Close()
	}
}

func (u *unpacker) write(t task, dir *os.Root) error {
	w := t.file
	data := t.data
	if data == nil {
		var err error
		if data, err = readFile(t.from, w.Size); err != nil {
			return &NotReproducedError{Path: w.Name, Err: err}
		}
	}
	if sum := sha256.Sum256(data); !bytes.Equal(sum[:], w.Digest) {
		return &NotReproducedError{Path: w.Name, Err: fmt.Errorf("content differs from the checkpoint's (SHA-256 %s, was %s): a postUnpack or a custom unpackPhase changes it", hex.EncodeToString(sum[:]), hex.EncodeToString(w.Digest))}
	}
	base := path.Base(w.Name)
	f, err := dir.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return &NotReproducedError{Path: w.Name, Err: err}
	}
	u.created(w.Name)
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(w.Mode.Perm() | w.Mode&fs.ModeSticky)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = dir.Chtimes(base, time.Time{}, time.Unix(0, w.Mtime))
	}
	if err != nil {
		return &NotReproducedError{Path: w.Name, Err: err}
	}
	u.wrote(w.Name, int64(len(data)))
	return nil
}

// created notes an entry just created: a top-level one, for Remove.
func (u *unpacker) created(name string) {
	if strings.Contains(name, "/") {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.createdTop = append(u.createdTop, name)
}

// wrote notes a file written and checked, for the result.
func (u *unpacker) wrote(name string, size int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.files++
	u.bytes += size
	u.verified[name] = true
}

// readFile reads a source directory's file, which must hold size bytes.
func readFile(p string, size int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fmt.Errorf("%s: %w (the checkpoint says %d bytes)", p, err, size)
	}
	if n, _ := f.Read(make([]byte, 1)); n != 0 {
		return nil, fmt.Errorf("%s: more than the %d bytes the checkpoint says", p, size)
	}
	return data, nil
}

// removeCreated removes the top-level names created in top.
func removeCreated(top string, created []string) error {
	if len(created) == 0 {
		return nil
	}
	root, err := os.OpenRoot(top)
	if err != nil {
		return err
	}
	defer root.Close()
	var errs []error
	for _, n := range created {
		if err := root.RemoveAll(n); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
