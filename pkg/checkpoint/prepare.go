package checkpoint

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/klauspost/compress/zstd"
)

// The files Prepare writes into [PrepareOptions.Dir].
const (
	// PreparedFrames holds the compressed frames, group after group.
	PreparedFrames = "frames"
	// PreparedIndex holds one JSON line per group done: its files, their
	// digests, and where its frames lie in PreparedFrames.
	PreparedIndex = "index"
)

// ClockMargin is how long after the newest change time in the snapshot
// Prepare starts reading. A file changed after that has a newer change
// time than the snapshot recorded, whatever the granularity of the
// filesystem's timestamps (up to a second) and of the kernel's clock for
// them (a tick), so Save sees the change even when Prepare read the file
// before it. Within a tick of unpacking, a change can keep the change
// time: Save then finds the file unchanged, and only a read after the
// change (Save's own, or Prepare's after this margin) gives the digest
// that makes the next restore notice.
const ClockMargin = 2 * time.Second

// PrepareOptions say what Prepare reads and writes.
type PrepareOptions struct {
	// Top is the build directory, and Snapshot the snapshot taken there
	// after unpacking.
	Top      string
	Snapshot *Snapshot
	// Dir is where the prepared files go; it is created if missing, and
	// what Prepare wrote there before is replaced.
	Dir string
	// Copy says whether to compress the frames of a source copy too, or
	// only to take the digests.
	Copy bool
}

// PrepareStats count what Prepare did.
type PrepareStats struct {
	Groups, Files int
	Bytes         int64
}

// Prepare does ahead of [Save] the part of its work that depends only on
// the files the build leaves alone: while the build runs, it reads the
// snapshot's regular files, takes their digests and, with Copy,
// compresses the frames of a source copy, group by group
// ([copyLayout]), each group recorded when done. [SaveOptions.Prepared]
// then takes from it what still holds; the checkpoint is the same bytes
// with or without it, and with any part of it.
//
// A file counts only when its identity (inode, change time, size,
// modification time) is the snapshot's both before and after Prepare
// reads it; a group with a file that is not is left to Save, and so is a
// file Prepare cannot open as it is (it never changes a mode, which would
// change the change time). Save takes a file's digest or a group's frames
// only when the file still has that identity, so what the build changes
// after Prepare read it is read again. See [ClockMargin].
//
// Prepare stops when ctx is done, keeping the groups recorded so far; it
// is meant to run at low priority in the background, and to be stopped
// (or killed: a group being written is not recorded) before Save.
func Prepare(ctx context.Context, opts PrepareOptions) (PrepareStats, error) {
	var st PrepareStats
	if opts.Snapshot == nil {
		return st, errors.New("prepare: no snapshot")
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return st, fmt.Errorf("prepare: %w", err)
	}
	l := newCopyLayout(opts.Snapshot)
	var newest int64
	for _, f := range l.files {
		newest = max(newest, f.id.Ctime)
	}
	frames, err := os.Create(filepath.Join(opts.Dir, PreparedFrames))
	if err != nil {
		return st, fmt.Errorf("prepare: %w", err)
	}
	defer frames.Close()
	index, err := os.Create(filepath.Join(opts.Dir, PreparedIndex))
	if err != nil {
		return st, fmt.Errorf("prepare: %w", err)
	}
	defer index.Close()
	// Files first, then the wait: nothing is created later, in a
	// directory a failed build's end may have removed.
	if wait := time.Until(time.Unix(0, newest).Add(ClockMargin)); wait > 0 {
		select {
		case <-ctx.Done():
			return st, nil
		case <-time.After(wait):
		}
	}
	p := &preparer{opts: opts, l: l, out: &countingWriter{w: frames}, first: map[uint64]int{}}
	if opts.Copy {
		// Save's encoder, on one goroutine.
		if p.enc, err = newEncoder(zstd.SpeedFastest, 1); err != nil {
			return st, err
		}
		defer p.enc.Close()
	}
	for g := 0; g < l.groups(); g++ {
		if ctx.Err() != nil {
			break
		}
		rec, err := p.group(g)
		if err != nil {
			return st, err
		}
		if rec == nil {
			continue
		}
		line, err := json.Marshal(rec)
		if err != nil {
			return st, err
		}
		// One write per record: a record cut short by a kill does not
		// parse, and ends the index.
		if _, err := index.Write(append(line, '\n')); err != nil {
			return st, fmt.Errorf("prepare: %w", err)
		}
		st.Groups++
		st.Files += len(rec.Files)
		for _, i := range rec.Files {
			st.Bytes += l.files[i].id.Size
		}
	}
	if err := frames.Close(); err != nil {
		return st, fmt.Errorf("prepare: %w", err)
	}
	return st, index.Close()
}

// preparedGroup is one line of PreparedIndex.
type preparedGroup struct {
	Group int `json:"g"`
	// Files are the group's files in the copy (indices into the
	// layout's files), and Links, for each, the file it is a hard link
	// to or -1. Digests holds each file's digest (nil for a link).
	Files   []int    `json:"f"`
	Links   []int    `json:"l"`
	Digests [][]byte `json:"d"`
	// Compressed says whether Frames (their lengths, from Offset in
	// PreparedFrames) are the group's frames.
	Compressed bool    `json:"c,omitempty"`
	Offset     int64   `json:"o,omitempty"`
	Frames     []int64 `json:"z,omitempty"`
}

type preparer struct {
	opts PrepareOptions
	l    *copyLayout
	// out counts what was written to PreparedFrames, the frames of
	// groups left to Save too.
	out   *countingWriter
	enc   *zstd.Encoder
	first map[uint64]int // inode → the first file with it that counted
}

// group prepares group g, or returns nil when a file of it changed.
func (p *preparer) group(g int) (*preparedGroup, error) {
	rec := &preparedGroup{Group: g, Compressed: p.enc != nil, Offset: p.out.n}
	for i := p.l.starts[g]; i < p.l.starts[g+1]; i++ {
		f := p.l.files[i]
		fi, err := os.Lstat(filepath.Join(p.opts.Top, f.name))
		if err != nil || !unchanged(f.id, fi) {
			continue // changed since the snapshot: not left to the source
		}
		link := -1
		if f.id.Ino != 0 {
			if j, ok := p.first[f.id.Ino]; ok {
				link = j
			} else {
				p.first[f.id.Ino] = i
			}
		}
		rec.Files, rec.Links = append(rec.Files, i), append(rec.Links, link)
	}
	var fw *frameWriter
	var w io.Writer = io.Discard
	if p.enc != nil {
		fw = newFrameWriterWith(p.out, p.enc, 1)
		defer fw.Close()
		w = tar.NewWriter(fw)
	}
	bp := digestBufs.Get().(*[]byte)
	defer digestBufs.Put(bp)
	for k, i := range rec.Files {
		f := p.l.files[i]
		if tw, ok := w.(*tar.Writer); ok {
			hdr := copyHeader(f.name, f.id.Mode, f.id.Mtime)
			if rec.Links[k] >= 0 {
				hdr.Typeflag, hdr.Linkname = tar.TypeLink, p.l.files[rec.Links[k]].name
			} else {
				hdr.Typeflag, hdr.Size = tar.TypeReg, f.id.Size
			}
			if err := tw.WriteHeader(hdr); err != nil {
				return nil, fmt.Errorf("prepare: %s: %w", quoteName(f.name), err)
			}
		}
		if rec.Links[k] >= 0 {
			rec.Digests = append(rec.Digests, nil)
			continue
		}
		sum, ok := prepareRead(p, w, f, *bp)
		if !ok {
			// Frames already written stay in PreparedFrames, which no
			// record points at: the next group's Offset is past them.
			return nil, closeFrames(fw)
		}
		rec.Digests = append(rec.Digests, sum)
	}
	if fw == nil {
		return rec, nil
	}
	if err := w.(*tar.Writer).Flush(); err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if err := closeFrames(fw); err != nil {
		return nil, err
	}
	rec.Frames = fw.lengths
	return rec, nil
}

// closeFrames waits for a group's frames to be written.
func closeFrames(fw *frameWriter) error {
	if fw == nil {
		return nil
	}
	if err := fw.Close(); err != nil {
		return fmt.Errorf("prepare: %s: %w", PreparedFrames, err)
	}
	return nil
}

// openNoAtime opens a file for the pass: without touching its access
// time where it can (the build's user owns its files), so that the pass
// leaves no trace on them.
func openNoAtime(name string) (*os.File, error) {
	r, err := os.OpenFile(name, os.O_RDONLY|oNoAtime, 0)
	if err != nil && oNoAtime != 0 {
		r, err = os.Open(name)
	}
	return r, err
}

// prepareRead is (*preparer).read; tests replace it.
var prepareRead = (*preparer).read

// read copies file f into w and returns its digest; ok is false when it
// could not be opened as it is or read, or its identity was not the
// snapshot's before and after. (A failed write into w shows when the
// group's frames are closed.)
func (p *preparer) read(w io.Writer, f copyFile, buf []byte) (sum []byte, ok bool) {
	r, err := openNoAtime(filepath.Join(p.opts.Top, f.name))
	if err != nil {
		return nil, false
	}
	defer r.Close()
	if fi, err := r.Stat(); err != nil || !unchanged(f.id, fi) {
		return nil, false
	}
	if sum, err = copyHashed(w, r, f.id.Size, buf); err != nil {
		return nil, false
	}
	if fi, err := r.Stat(); err != nil || !unchanged(f.id, fi) {
		return nil, false
	}
	return sum, true
}

// prepared is what Save takes from a Prepare: the groups recorded, by
// group.
type prepared struct {
	frames *os.File
	groups map[int]*preparedGroup
}

// readPrepared reads what Prepare wrote in dir for layout l. Records
// that do not fit l or the frames file are left out (a record cut short
// ends the index); a missing dir gives nothing.
func readPrepared(dir string, l *copyLayout) (*prepared, error) {
	p := &prepared{groups: map[int]*preparedGroup{}}
	if dir == "" {
		return p, nil
	}
	index, err := os.Open(filepath.Join(dir, PreparedIndex))
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("save: prepared files: %w", err)
	}
	defer index.Close()
	frames, err := os.Open(filepath.Join(dir, PreparedFrames))
	if err != nil {
		return nil, fmt.Errorf("save: prepared files: %w", err)
	}
	fi, err := frames.Stat()
	if err != nil {
		frames.Close()
		return nil, fmt.Errorf("save: prepared files: %w", err)
	}
	p.frames = frames
	sc := bufio.NewScanner(index)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var rec preparedGroup
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if dec.Decode(&rec) != nil {
			break
		}
		if rec.fits(l, fi.Size()) {
			p.groups[rec.Group] = &rec
		}
	}
	return p, nil
}

// fits reports whether rec describes a group of l, with frames inside a
// frames file of size bytes.
func (rec *preparedGroup) fits(l *copyLayout, size int64) bool {
	if rec.Group < 0 || rec.Group >= l.groups() || len(rec.Links) != len(rec.Files) || len(rec.Digests) != len(rec.Files) {
		return false
	}
	prev := l.starts[rec.Group] - 1
	for k, i := range rec.Files {
		if i <= prev || i >= l.starts[rec.Group+1] {
			return false
		}
		prev = i
		if link := rec.Links[k]; link >= i || link < -1 || (link < 0) != (len(rec.Digests[k]) == sha256.Size) {
			return false
		}
	}
	end := rec.Offset
	for _, n := range rec.Frames {
		if n <= 0 {
			return false
		}
		end += n
	}
	return rec.Offset >= 0 && end <= size
}

func (p *prepared) close() {
	if p.frames != nil {
		p.frames.Close()
	}
}

// digests returns, by name, the digests Prepare took, for digestAll.
func (p *prepared) digests(l *copyLayout, known map[string]*pristineEntry) map[string]*pristineEntry {
	if len(p.groups) == 0 {
		return known
	}
	if known == nil {
		known = map[string]*pristineEntry{}
	}
	for _, rec := range p.groups {
		for k, i := range rec.Files {
			if rec.Links[k] < 0 {
				f := l.files[i]
				known[f.name] = &pristineEntry{Size: f.id.Size, Mode: f.id.Mode, Mtime: f.id.Mtime, Digest: rec.Digests[k]}
			}
		}
	}
	return known
}
