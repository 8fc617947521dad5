package checkpoint

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/klauspost/compress/zstd"
)

// A dirOrder is the order in which a directory listed its entries when
// the checkpoint was saved. Dir is named as in the archive ("tree",
// "tree/src", "outputs/out/bin").
type dirOrder struct {
	Dir   string
	Names []string
}

// dirOrders collects the listing order of every directory saved.
type dirOrders []dirOrder

// recorder returns a walkOrder callback that records directories below
// the archive name prefix. Directories of fewer than two entries have no
// order to keep.
func (o *dirOrders) recorder(prefix string) func(rel string, names []string) {
	return func(rel string, names []string) {
		if len(names) > 1 {
			*o = append(*o, dirOrder{path.Join(prefix, rel), names})
		}
	}
}

// write stores the orders in name, zstd-compressed, as one record per
// directory: its name, then each entry's name, each ended by a NUL byte,
// and a NUL byte closing the record (names hold neither NUL nor are
// empty, and directories' names are no longer than a path). It returns
// the uncompressed size, which the manifest records.
func (o dirOrders) write(name string) (int64, error) {
	f, err := os.Create(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	zw, err := zstd.NewWriter(f)
	if err != nil {
		return 0, err
	}
	cw := &countingWriter{w: zw}
	for _, d := range o {
		var b bytes.Buffer
		b.WriteString(d.Dir)
		b.WriteByte(0)
		for _, n := range d.Names {
			b.WriteString(n)
			b.WriteByte(0)
		}
		b.WriteByte(0)
		if _, err := cw.Write(b.Bytes()); err != nil {
			return 0, err
		}
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return cw.n, f.Close()
}

// readOrders reads the orders written by write; size is the manifest's
// account of their uncompressed size, which bounds what is read.
func readOrders(name string, size int64) (dirOrders, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := zstd.NewReader(f, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxWindow))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	data, err := io.ReadAll(io.LimitReader(zr, size+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != size {
		return nil, fmt.Errorf("%s holds %d bytes or more, the manifest says %d", OrderFile, len(data), size)
	}
	var o dirOrders
	for len(data) > 0 {
		end := bytes.Index(data, []byte{0, 0})
		if end < 0 {
			return nil, fmt.Errorf("%s: unterminated record", OrderFile)
		}
		fields := strings.Split(string(data[:end]), "\x00")
		data = data[end+2:]
		o = append(o, dirOrder{fields[0], fields[1:]})
	}
	return o, nil
}

// Listing orders a filesystem can give, as probed by listingOrder.
type listing int

const (
	byHash      listing = iota // by a hash of the name (ext4), or unknown
	newestFirst                // by creation, newest first (tmpfs)
	oldestFirst                // by creation, oldest first (btrfs, XFS's small directories)
)

func (l listing) String() string {
	return [...]string{"by name (not by creation)", "newest first", "oldest first"}[l]
}

// probeNames are the names listingOrder creates; with eight of them, a
// hash order that looks like creation order is a 1-in-20,000 accident.
var probeNames = []string{"0", "1", "2", "3", "4", "5", "6", "7"}

// listingOrder finds out how the filesystem of dir orders a directory's
// entries, by creating a few in a temporary directory inside it.
func listingOrder(dir *os.Root) (listing, error) {
	tmp, err := tempDir(dir, ".vanilla-probe")
	if err != nil {
		return byHash, err
	}
	defer dir.RemoveAll(tmp)
	for _, n := range probeNames {
		if err := dir.Mkdir(tmp+"/"+n, 0o700); err != nil {
			return byHash, err
		}
	}
	got, err := listNames(dir, tmp)
	if err != nil {
		return byHash, err
	}
	switch {
	case slices.Equal(got, probeNames):
		return oldestFirst, nil
	case slices.Equal(got, reversed(probeNames)):
		return newestFirst, nil
	}
	return byHash, nil
}

func reversed(s []string) []string {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

// tempDir makes a new directory in dir whose name starts with prefix.
func tempDir(dir *os.Root, prefix string) (string, error) {
	for i := 0; ; i++ {
		name := prefix + "-" + strconv.Itoa(os.Getpid()) + "-" + strconv.Itoa(i)
		err := dir.Mkdir(name, 0o700)
		if err == nil || i == 100 || !os.IsExist(err) {
			return name, err
		}
	}
}

func listNames(r *os.Root, rel string) ([]string, error) {
	f, err := r.Open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// reorder gives each restored directory whose entries the filesystem
// lists in creation order the order recorded when saving, by moving the
// entries out of place into a temporary directory and back in the order
// that lists them as recorded. Entries not recorded (the hook's, Nix's)
// are left where they are.
func (x *extractor) reorder() error {
	m := x.res.Manifest
	if m.OrderSize == 0 {
		return nil
	}
	// order.zst lists the whole archive's directories: a restore that
	// read the outputs' part alone bounds it by the manifest's count of
	// the whole archive's entries (as it does by its pristine files).
	entries := x.entries
	if x.part != nil {
		entries = m.Stats.Entries
	}
	if limit := int64(entries+m.Stats.Pristine+1) * maxNamesPerEntry; m.OrderSize > limit {
		return &CorruptError{Dir: x.opts.Dir, Err: fmt.Errorf("the manifest declares %d bytes of %s for %d entries", m.OrderSize, OrderFile, entries+m.Stats.Pristine)}
	}
	orders, err := readOrders(x.opts.Dir+"/"+OrderFile, m.OrderSize)
	if err != nil {
		return &CorruptError{Dir: x.opts.Dir, Err: err}
	}
	kinds := map[uint64]listing{}
	var other, failed []string
	for _, o := range orders {
		d, err := x.orderDir(o.Dir)
		if err != nil || d == nil {
			return err
		}
		res, err := x.reorderDir(d, o.Names, kinds)
		d.Close()
		if err != nil {
			return fmt.Errorf("restore: order of %s: %w", o.Dir, err)
		}
		switch res {
		case orderOther:
			other = append(other, o.Dir)
		case orderFailed:
			failed = append(failed, o.Dir)
		}
	}
	if len(other) > 0 {
		x.warn(fmt.Sprintf("%d directories (%s first) list their entries in another order than when the checkpoint was saved; this filesystem orders them by name, as it would in a plain build", len(other), other[0]))
	}
	if len(failed) > 0 {
		x.warn(fmt.Sprintf("%d directories (%s first) still list their entries in another order than when the checkpoint was saved", len(failed), failed[0]))
	}
	return nil
}

// orderDir opens the directory an order record names, or returns nil for
// one this restore does not restore.
func (x *extractor) orderDir(dir string) (*os.Root, error) {
	if dir == "tree" {
		if !x.opts.Tree {
			return nil, nil
		}
		r, err := x.root(x.opts.Top)
		if err != nil {
			return nil, err
		}
		return r.OpenRoot(".")
	}
	r, rel, ok, err := x.target(dir)
	if err != nil || !ok {
		return nil, err
	}
	d, err := r.OpenRoot(rel)
	if err != nil {
		return nil, fmt.Errorf("restore: order of %s: %w", dir, err)
	}
	return d, nil
}

const (
	orderKept = iota
	orderFixed
	orderOther
	orderFailed
)

// reorderDir puts the entries of d in the order want, where its filesystem
// allows; kinds caches each filesystem's listing order.
func (x *extractor) reorderDir(d *os.Root, want []string, kinds map[uint64]listing) (int, error) {
	cur, want, err := compareOrder(d, want)
	if err != nil || slices.Equal(cur, want) {
		return orderKept, err
	}
	fi, err := d.Stat(".")
	if err != nil {
		return 0, err
	}
	dev := uint64(fi.Sys().(*syscall.Stat_t).Dev)
	kind, ok := kinds[dev]
	if !ok {
		if kind, err = listingOrder(d); err != nil {
			return 0, err
		}
		kinds[dev] = kind
	}
	var move []string
	switch kind {
	case byHash:
		return orderOther, nil
	case newestFirst:
		// Entries put back become the first listed: keep the longest
		// common tail, put the rest back from the last to the first.
		k := 0
		for k < len(cur) && cur[len(cur)-1-k] == want[len(want)-1-k] {
			k++
		}
		move = slices.Clone(want[:len(want)-k])
		slices.Reverse(move)
	case oldestFirst:
		k := 0
		for k < len(cur) && cur[k] == want[k] {
			k++
		}
		move = want[k:]
	}
	if err := moveThrough(d, move); err != nil {
		return 0, err
	}
	if cur, want, err = compareOrder(d, want); err != nil {
		return 0, err
	}
	if !slices.Equal(cur, want) {
		return orderFailed, nil
	}
	return orderFixed, nil
}

// compareOrder lists d and returns, of the names both in the listing and
// in want, the order listed and the order wanted.
func compareOrder(d *os.Root, want []string) (cur, wanted []string, err error) {
	names, err := listNames(d, ".")
	if err != nil {
		return nil, nil, err
	}
	inWant := make(map[string]bool, len(want))
	for _, n := range want {
		inWant[n] = true
	}
	here := make(map[string]bool, len(names))
	for _, n := range names {
		if inWant[n] {
			cur = append(cur, n)
			here[n] = true
		}
	}
	for _, n := range want {
		if here[n] {
			wanted = append(wanted, n)
			delete(here, n) // a forged list may repeat a name
		}
	}
	return cur, wanted, nil
}

// moveThrough renames each of names into a temporary directory of d, then
// back into d in the order given.
func moveThrough(d *os.Root, names []string) error {
	if len(names) == 0 {
		return nil
	}
	if fi, err := d.Stat("."); err != nil {
		return err
	} else if fi.Mode().Perm()&0o300 != 0o300 && os.Geteuid() != 0 {
		// Restored directories get their modes at the very end.
		if err := d.Chmod(".", fi.Mode().Perm()|0o300); err != nil {
			return err
		}
	}
	tmp, err := tempDir(d, ".vanilla-order")
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := d.Rename(n, tmp+"/"+n); err != nil {
			return err
		}
	}
	for _, n := range names {
		if err := d.Rename(tmp+"/"+n, n); err != nil {
			return err
		}
	}
	return d.Remove(tmp)
}
