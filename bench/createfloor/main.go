//go:build linux

// Command createfloor compares a restore's unpack of a checkpoint's source
// copy with the least a program can spend creating the same files: the
// copy's files decoded into memory beforehand, then created with one
// openat, write, close and utimensat each, on two goroutines (a directory
// each at a time), with no checks. The two alternate, each in a fresh
// directory, and it prints both times of each repetition and their
// medians. What the unpack spends beyond the floor is what a faster
// unpack could still save; the rest is the kernel's cost of a file.
//
// Usage:
//
//	createfloor -checkpoint DIR -top DIR [-reps N] [-cpuprofile FILE]
//
// -top is where the files are created (a tmpfs or a disk directory: both
// are reported in bench/README.md); it must not exist. The checkpoint
// must hold a build tree and a source copy (bench/workload.nix' linux or
// binutils workload with mode vanilla; its path is in the build log).
// Creating on a tmpfs takes as much memory as the source, twice.
package main

import (
	"archive/tar"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"

	"github.com/nix-vanilla/nix-vanilla/pkg/checkpoint"
)

func main() {
	ck := flag.String("checkpoint", "", "a checkpoint with a build tree and a source copy")
	top := flag.String("top", "", "where to create the files (must not exist)")
	reps := flag.Int("reps", 3, "repetitions of each")
	profile := flag.String("cpuprofile", "", "write CPU profiles of the restore's unpacks to `file`.1, .2, …")
	flag.Parse()
	if *ck == "" || *top == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*ck, *top, *reps, *profile); err != nil {
		fmt.Fprintln(os.Stderr, "createfloor:", err)
		os.Exit(1)
	}
}

func run(ck, top string, reps int, profile string) error {
	if _, err := os.Lstat(top); err == nil {
		return fmt.Errorf("%s exists: give a directory that does not", top)
	}
	m, err := checkpoint.ReadManifest(ck)
	if err != nil {
		return err
	}
	files, dirs, err := decode(filepath.Join(ck, checkpoint.SourceCopyFile))
	if err != nil {
		return err
	}
	var floor, unpacked []time.Duration
	for i := range reps {
		c0 := cpu()
		d, err := timeFloor(top, files, dirs)
		if err != nil {
			return err
		}
		c1 := cpu()
		stop, err := startProfile(profile, i+1)
		if err != nil {
			return err
		}
		u, err := timeUnpack(ck, top, m)
		if perr := stop(); err == nil {
			err = perr
		}
		if err != nil {
			return err
		}
		c2 := cpu()
		fmt.Printf("repetition %d: floor %.2f s (%s), restore's unpack %.2f s (%s, each with removing the files)\n",
			i+1, d.Seconds(), c1.sub(c0), u.Seconds(), c2.sub(c1))
		floor, unpacked = append(floor, d), append(unpacked, u)
	}
	fmt.Printf("%d files in %d directories; medians: floor %.2f s, restore's unpack %.2f s (%.2f×)\n",
		len(files), len(dirs), median(floor).Seconds(), median(unpacked).Seconds(), median(unpacked).Seconds()/median(floor).Seconds())
	return nil
}

// startProfile starts a CPU profile in file.rep, when file is given,
// and returns what stops it.
func startProfile(file string, rep int) (stop func() error, err error) {
	if file == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(fmt.Sprintf("%s.%d", file, rep))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

// A file of the source copy, decoded.
type file struct {
	dir, name string
	data      []byte
	mode      uint32
	mtime     time.Time
	link      bool
}

func decode(name string) ([]file, []string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	zr, err := zstd.NewReader(f)
	if err != nil {
		return nil, nil, err
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	var files []file
	seen := map[string]bool{}
	var dirs []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		d := path.Dir(h.Name)
		for p := d; p != "." && !seen[p]; p = path.Dir(p) {
			seen[p] = true
			dirs = append(dirs, p)
		}
		fl := file{dir: d, name: path.Base(h.Name), mode: uint32(h.Mode) & 0o777, mtime: h.ModTime, link: h.Typeflag == tar.TypeLink}
		if !fl.link {
			if fl.data, err = io.ReadAll(tr); err != nil {
				return nil, nil, err
			}
		}
		files = append(files, fl)
	}
	slices.Sort(dirs) // parents first
	return files, dirs, nil
}

func timeFloor(top string, files []file, dirs []string) (time.Duration, error) {
	defer os.RemoveAll(top)
	byDir := map[string][]int{}
	var order []string
	for i, fl := range files {
		if _, ok := byDir[fl.dir]; !ok {
			order = append(order, fl.dir)
		}
		byDir[fl.dir] = append(byDir[fl.dir], i)
	}
	start := time.Now()
	if err := os.Mkdir(top, 0o755); err != nil {
		return 0, err
	}
	for _, d := range dirs {
		if err := os.Mkdir(filepath.Join(top, d), 0o755); err != nil {
			return 0, err
		}
	}
	ch := make(chan string)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range ch {
				if errs[w] == nil {
					errs[w] = create(filepath.Join(top, d), files, byDir[d])
				}
			}
		}()
	}
	for _, d := range order {
		ch <- d
	}
	close(ch)
	wg.Wait()
	return time.Since(start), errors.Join(errs...)
}

func create(dir string, files []file, which []int) error {
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	for _, i := range which {
		fl := &files[i]
		if fl.link {
			continue // hard links: a few, and not what costs
		}
		fd, err := unix.Openat(dfd, fl.name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, fl.mode|0o200)
		if err != nil {
			return err
		}
		for data := fl.data; len(data) > 0; {
			n, err := unix.Write(fd, data)
			if err != nil {
				unix.Close(fd)
				return err
			}
			data = data[n:]
		}
		if err := unix.Close(fd); err != nil {
			return err
		}
		ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, unix.NsecToTimespec(fl.mtime.UnixNano())}
		if err := unix.UtimesNanoAt(dfd, fl.name, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
	}
	return nil
}

// timeUnpack starts restoring the checkpoint's tree into top (the
// outputs beside it, with the names the checkpoint gives them), stops it
// once the source copy is unpacked and returns the time that took.
func timeUnpack(ck, top string, m *checkpoint.Manifest) (time.Duration, error) {
	defer os.RemoveAll(top)
	outs := filepath.Join(top, "outputs")
	if err := os.MkdirAll(filepath.Join(top, "build"), 0o755); err != nil {
		return 0, err
	}
	if err := os.Mkdir(outs, 0o755); err != nil {
		return 0, err
	}
	given := map[string]string{}
	for name, p := range m.Outputs {
		given[name] = filepath.Join(outs, filepath.Base(p))
	}
	var unpacked time.Duration
	start := time.Now()
	_, err := checkpoint.Restore(context.Background(), checkpoint.RestoreOptions{
		Dir: ck, Top: filepath.Join(top, "build"), Tree: true, SourceCopy: true, Outputs: given,
		Unpacked: func() error { unpacked = time.Since(start); return errStop },
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return unpacked, err
}

// errStop ends a restore once the source copy is unpacked (the restore
// then removes what it unpacked, as the floor's files are removed).
var errStop = errors.New("stop after the unpack")

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// cpuTimes are the process's user and system CPU times so far.
type cpuTimes struct{ user, sys time.Duration }

func cpu() cpuTimes {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return cpuTimes{}
	}
	return cpuTimes{time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())}
}

func (c cpuTimes) sub(o cpuTimes) string {
	return fmt.Sprintf("user %.2f s, system %.2f s", (c.user - o.user).Seconds(), (c.sys - o.sys).Seconds())
}
