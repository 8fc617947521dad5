package checkpoint

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Sparse files are archived as their data extents alone, one after the
// other, as a regular entry's content. Two PAX records say how to put
// them back: SparseSizeKey holds the file's size and SparseMapKey the
// extents as "offset,length,offset,length…" in increasing order. (Go's
// archive/tar reads GNU's sparse formats but hides their maps, and a
// restore needs the map to leave the holes unwritten.) Another tar
// reader extracts such an entry as the concatenated data.
const (
	SparseSizeKey = "NIXVANILLA.sparse.size"
	SparseMapKey  = "NIXVANILLA.sparse.map"
)

// Whence values of lseek(2) that find data and holes (Linux, the BSDs).
const (
	seekData = 3
	seekHole = 4
)

// An extent is a run of data in a sparse file.
type extent struct{ off, len int64 }

// dataExtents lists the data extents of the file f of size size, or nil
// when it has no hole (or the filesystem cannot tell).
func dataExtents(f *os.File, size int64) ([]extent, error) {
	var out []extent
	for off := int64(0); off < size; {
		start, err := f.Seek(off, seekData)
		if errors.Is(err, syscall.ENXIO) {
			break // only a hole after off
		}
		if errors.Is(err, syscall.EINVAL) {
			return nil, nil // no SEEK_DATA here
		}
		if err != nil {
			return nil, err
		}
		end, err := f.Seek(start, seekHole)
		if err != nil {
			return nil, err
		}
		end = min(end, size)
		out = append(out, extent{start, end - start})
		off = end
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	if len(out) == 1 && out[0] == (extent{0, size}) {
		return nil, nil
	}
	if out == nil {
		out = []extent{} // all hole
	}
	return out, nil
}

// setSparse turns hdr into the entry of a sparse file with these extents.
func setSparse(hdr *tar.Header, extents []extent) {
	var b strings.Builder
	var data int64
	for i, e := range extents {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%d,%d", e.off, e.len)
		data += e.len
	}
	hdr.PAXRecords = map[string]string{SparseSizeKey: strconv.FormatInt(hdr.Size, 10), SparseMapKey: b.String()}
	hdr.Size = data
}

// copyExtents writes the extents of f to w.
func copyExtents(w io.Writer, f *os.File, extents []extent) (int64, error) {
	var n int64
	for _, e := range extents {
		m, err := io.Copy(w, io.NewSectionReader(f, e.off, e.len))
		n += m
		if err != nil {
			return n, err
		}
		if m != e.len {
			return n, fmt.Errorf("file changed size while being saved")
		}
	}
	return n, nil
}

// sparseMap reads the sparse records of hdr. ok is false for an entry
// that is not sparse. The map must be increasing, within the file's size,
// and describe exactly the entry's data; size must not exceed limit.
func sparseMap(hdr *tar.Header, limit int64) (size int64, extents []extent, ok bool, err error) {
	sizeRec, hasSize := hdr.PAXRecords[SparseSizeKey]
	mapRec, hasMap := hdr.PAXRecords[SparseMapKey]
	if !hasSize && !hasMap {
		return 0, nil, false, nil
	}
	bad := func(why string) (int64, []extent, bool, error) {
		return 0, nil, true, fmt.Errorf("sparse entry %s: %s", quoteName(hdr.Name), why)
	}
	size, err = strconv.ParseInt(sizeRec, 10, 64)
	if err != nil || size < 0 {
		return bad("bad size")
	}
	if size > limit {
		return bad(fmt.Sprintf("declares %d bytes, more than the %d the manifest declares for sparse files", size, limit))
	}
	var fields []string
	if mapRec != "" {
		fields = strings.Split(mapRec, ",")
	}
	if len(fields)%2 != 0 {
		return bad("odd number of fields in its map")
	}
	var end, data int64
	for i := 0; i < len(fields); i += 2 {
		off, err1 := strconv.ParseInt(fields[i], 10, 64)
		n, err2 := strconv.ParseInt(fields[i+1], 10, 64)
		if err1 != nil || err2 != nil || off < end || n <= 0 || off > size || n > size-off {
			return bad("its map is not increasing extents within the file")
		}
		extents = append(extents, extent{off, n})
		end, data = off+n, data+n
	}
	if data != hdr.Size {
		return bad(fmt.Sprintf("its map covers %d bytes, the entry holds %d", data, hdr.Size))
	}
	return size, extents, true, nil
}

// quoteName quotes an archive name for an error message, shortened.
func quoteName(name string) string {
	if len(name) > 200 {
		name = name[:200] + "…"
	}
	return strconv.Quote(name)
}
