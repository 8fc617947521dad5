package checkpoint

import "slices"

// A copyLayout fixes how a source copy ([SourceCopyFile]) is cut into
// zstd frames: the snapshot's regular files, in the order Save walks the
// build directory, fall into groups of about one frame's worth of data,
// and each group's tar entries (those of its files still left to the
// source when Save runs) start a new frame. A group's frames therefore
// depend only on its own files and on which of them the build changed,
// so frames compressed ahead of the save ([Prepare]) are the ones Save
// would write, and Save compresses again only the groups holding a file
// the build changed. The end-of-archive blocks are a frame of their own.
type copyLayout struct {
	files []copyFile
	index map[string]int // name → index in files
	// starts holds the index of each group's first file, and len(files)
	// last.
	starts []int
}

type copyFile struct {
	name string
	id   Identity
}

// newCopyLayout lays out the regular files of s.
func newCopyLayout(s *Snapshot) *copyLayout {
	l := &copyLayout{index: map[string]int{}}
	for name, id := range s.Entries {
		if id.Mode.IsRegular() {
			l.files = append(l.files, copyFile{name, id})
		}
	}
	slices.SortFunc(l.files, func(a, b copyFile) int { return walkCompare(a.name, b.name) })
	var size int64
	for i, f := range l.files {
		l.index[f.name] = i
		if size == 0 {
			l.starts = append(l.starts, i)
		}
		// A tar header and the data padded to blocks: an estimate, which
		// only has to be the same for every save of this snapshot.
		if size += 512 + (f.id.Size+511)&^511; size >= frameSize {
			size = 0
		}
	}
	l.starts = append(l.starts, len(l.files))
	return l
}

// groups returns the number of groups.
func (l *copyLayout) groups() int { return len(l.starts) - 1 }

// walkCompare orders relative paths as walk visits them: by their
// components, each compared byte by byte, a directory before what it
// holds. (A '/' compares below every byte a name can hold.)
func walkCompare(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		switch {
		case ca == '/':
			return -1
		case cb == '/':
			return 1
		case ca < cb:
			return -1
		}
		return 1
	}
	return len(a) - len(b)
}
