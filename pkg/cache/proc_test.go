package cache

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// workerEnv makes the test binary a worker process of
// TestConcurrentProcesses: its value is the role, "putget", "gc" or
// "put" (one Put, for the fault injection), and VANILLA_CACHE_TEST_DIR
// and VANILLA_CACHE_TEST_ID say where and who.
const workerEnv = "VANILLA_CACHE_TEST_WORKER"

const sharedKeys = 6

// archiveSize is the archive size of k's entry: the same in every
// process.
func archiveSize(k string) int {
	n, _ := strconv.ParseUint(k[:4], 16, 64)
	return 1000 + int(n%200)*1000
}

func worker() int {
	c, err := Open(os.Getenv("VANILLA_CACHE_TEST_DIR"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	id := os.Getenv("VANILLA_CACHE_TEST_ID")
	switch os.Getenv(workerEnv) {
	case "putget":
		err = putGet(c, id)
	case "gc":
		for i := 0; i < 40 && err == nil; i++ {
			_, err = c.GC(1 << 20)
			time.Sleep(5 * time.Millisecond)
		}
	case "put":
		k := key("fault-" + id)
		err = c.Put(info(k), fill(k, archiveSize(k)))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "worker %s: %v\n", id, err)
		return 1
	}
	return 0
}

// putGet stores and reads entries of shared and own keys, checking that
// every entry Get returns is whole and holds its key's files.
func putGet(c *Cache, id string) error {
	r := rand.New(rand.NewPCG(uint64(len(id)), uint64(time.Now().UnixNano())))
	pick := func() string {
		if r.IntN(2) == 0 {
			return key(fmt.Sprint("shared-", r.IntN(sharedKeys)))
		}
		return key(fmt.Sprint("own-", id, "-", r.IntN(4)))
	}
	for range 25 {
		if k := pick(); r.IntN(2) == 0 {
			if err := c.Put(info(k), fill(k, archiveSize(k))); err != nil {
				return err
			}
		}
		k := pick()
		e, err := c.Get(k)
		if errors.Is(err, ErrNotFound) {
			if err := c.Record(Event{Kind: Miss, Key: k, Reason: "no entry"}); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		err = checkContent(e, k, archiveSize(k))
		if err == nil {
			err = c.Used(k)
		}
		if err == nil {
			err = c.Record(Event{Kind: Hit, Key: k, Name: strings.Repeat("n", r.IntN(3000)), Bytes: int64(archiveSize(k))})
		}
		e.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func TestConcurrentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 16 processes")
	}
	c := newCache(t)
	start := func(role, id string, env ...string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), workerEnv+"="+role, "VANILLA_CACHE_TEST_DIR="+c.Path(), "VANILLA_CACHE_TEST_ID="+id)
		cmd.Env = append(cmd.Env, env...)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	var putgets, faults, killed []*exec.Cmd
	for i := range 8 {
		putgets = append(putgets, start("putget", fmt.Sprint("p", i)))
	}
	for i := range 3 {
		faults = append(faults, start("put", fmt.Sprint(i), "VANILLA_CACHE_FAULT=exit-in-put"))
		killed = append(killed, start("putget", fmt.Sprint("k", i)))
	}
	gc := start("gc", "gc")
	for _, cmd := range killed {
		time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
	}
	for _, cmd := range append(putgets, gc) {
		if err := cmd.Wait(); err != nil {
			t.Errorf("%v: %v", cmd.Env[len(cmd.Env)-1], err)
		}
	}
	for i, cmd := range faults {
		var exit *exec.ExitError
		if err := cmd.Wait(); !errors.As(err, &exit) || exit.ExitCode() != 75 {
			t.Errorf("fault-injected Put %d: %v, want exit status 75", i, err)
		}
		if _, err := c.Get(key(fmt.Sprint("fault-", i))); !errors.Is(err, ErrNotFound) {
			t.Errorf("entry of a Put killed half-way: %v, want none", err)
		}
	}
	for _, cmd := range killed {
		cmd.Wait()
	}
	if t.Failed() {
		return
	}
	checkSurvivors(t, c)
}

// checkSurvivors checks that every entry left verifies, and that GC
// removes what the killed writers left once it is stale.
func checkSurvivors(t *testing.T, c *Cache) {
	infos, damaged, err := c.List()
	if err != nil || len(damaged) > 0 {
		t.Fatalf("List: %v, damaged %v", err, damaged)
	}
	if len(infos) == 0 {
		t.Fatal("no entry survived")
	}
	for _, in := range infos {
		e, err := c.Get(in.Key)
		if err != nil {
			t.Errorf("Get(%s): %v", in.Key, err)
			continue
		}
		if err := checkContent(e, in.Key, archiveSize(in.Key)); err != nil {
			t.Error(err)
		}
		e.Close()
	}
	left := 0
	for _, n := range dirNames(t, c, TmpDir) {
		if strings.HasPrefix(n, "put-") {
			left++
		}
	}
	if left < 3 {
		t.Errorf("%d temporary directories of killed Puts, want 3 or more", left)
	}
	clock(t, time.Now().Add(2*time.Hour))
	if _, err := c.GC(0); err != nil {
		t.Fatal(err)
	}
	if got := dirNames(t, c, TmpDir); len(got) != 0 {
		t.Errorf("after GC, tmp holds %q", got)
	}
	s, err := c.Stats()
	if err != nil || s.Garbage != 0 || s.Hits+s.Misses == 0 {
		t.Errorf("Stats = %+v, %v; want events and no garbage (lines interleaved?)", s, err)
	}
}
