package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nix-vanilla/nix-vanilla/pkg/checkpoint"
)

// TestPrepareInBackground runs the background pass as the hook does
// (prepare, then save -prepared): the pass is a process of its own, the
// save stops it when it still runs and waits for it, and the checkpoint
// is the bytes of a save without it, whether the pass finished or was
// stopped in its wait.
func TestPrepareInBackground(t *testing.T) {
	base := t.TempDir()
	top := filepath.Join(base, "build")
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 24 {
		data := make([]byte, 1<<20)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		p := filepath.Join(top, "src", fmt.Sprintf("f%02d.bin", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	attrs := filepath.Join(base, "attrs.json")
	if err := os.WriteFile(attrs, []byte(`{"name": "pkg-1.0", "vanillaStage": "vanilla"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NIX_ATTRS_JSON_FILE", attrs)
	for _, d := range []string{"fresh", "end"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	vanilla := func(args ...string) string {
		t.Helper()
		var out, errs bytes.Buffer
		if rc := run(context.Background(), args, &out, &errs); rc != 0 {
			t.Fatalf("vanilla %s: exit %d\n%s%s", strings.Join(args, " "), rc, out.String(), errs.String())
		}
		return out.String()
	}
	snap := filepath.Join(base, "snap")
	vanilla("snapshot", "-top", top, "-to", snap)
	if err := os.WriteFile(filepath.Join(top, "src/f05.bin"), []byte("changed by the build\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	save := func(name string, extra ...string) (string, map[string][]byte) {
		t.Helper()
		dir := filepath.Join(base, name)
		out := vanilla(append([]string{"save", "-stage", "vanilla", "-name", "pkg-1.0", "-to", dir, "-top", top, "-snapshot", snap,
			"-fresh", filepath.Join(base, "fresh"), "-end", filepath.Join(base, "end"), "-source-copy", "1",
			"-output", "out=" + filepath.Join(base, "store/0123456789abcdfghijklmnpqrsvwxyz-pkg-1.0")}, extra...)...)
		files := map[string][]byte{}
		for _, n := range []string{checkpoint.ManifestFile, checkpoint.ArchiveFile, checkpoint.PristineFile, checkpoint.SourceCopyFile} {
			b, err := os.ReadFile(filepath.Join(dir, n))
			if err != nil {
				t.Fatal(err)
			}
			files[n] = b
		}
		return out, files
	}
	_, want := save("plain")
	parts := regexp.MustCompile(`; (\d+) of (\d+) parts compressed during the build\)`)
	for _, finish := range []bool{true, false} {
		t.Run(fmt.Sprintf("finished=%v", finish), func(t *testing.T) {
			prep := filepath.Join(base, fmt.Sprintf("prepared-%v", finish))
			vanilla("prepare", "-top", top, "-snapshot", snap, "-to", prep, "-builder-pid", strconv.Itoa(os.Getpid()), "-source-copy", "1")
			b, err := os.ReadFile(filepath.Join(prep, preparePID))
			if err != nil {
				t.Fatal(err)
			}
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			if !alive(pid) || pid == os.Getpid() {
				t.Fatalf("no background pass (pid %d)", pid)
			}
			if finish {
				lock, err := os.Open(filepath.Join(prep, prepareLock))
				if err != nil {
					t.Fatal(err)
				}
				deadline := time.Now().Add(2 * time.Minute)
				for lockFile(lock, false) != nil {
					if time.Now().After(deadline) {
						t.Fatal("the background pass did not finish in 2 minutes")
					}
					time.Sleep(50 * time.Millisecond)
				}
				lock.Close()
			}
			out, got := save(fmt.Sprintf("with-%v", finish), "-prepared", prep)
			m := parts.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("the save does not say what it took from the pass:\n%s", out)
			}
			if done, all := m[1], m[2]; finish && (done == "0" || done != all) || !finish && done != "0" {
				t.Errorf("took %s of %s parts from a pass that finished=%v", done, all, finish)
			}
			if running(pid) {
				t.Errorf("the background pass (pid %d) still runs after the save", pid)
			}
			for name, w := range want {
				if !bytes.Equal(got[name], w) {
					t.Errorf("%s differs from the save without the pass", name)
				}
			}
		})
	}
}

// TestPrepareBuilderGone: a pass whose builder is gone (a failed build)
// stops and removes what it wrote, which no save will read.
func TestPrepareBuilderGone(t *testing.T) {
	base := t.TempDir()
	top := filepath.Join(base, "build")
	if err := os.MkdirAll(filepath.Join(top, "src"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(top, "src/a.c"), []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(base, "snap")
	var out, errs bytes.Buffer
	if rc := run(context.Background(), []string{"snapshot", "-top", top, "-to", snap}, &out, &errs); rc != 0 {
		t.Fatalf("snapshot: %d %s", rc, errs.String())
	}
	builder := exec.Command("sleep", "1")
	if err := builder.Start(); err != nil {
		t.Fatal(err)
	}
	prep := filepath.Join(base, "prepared")
	if rc := run(context.Background(), []string{"prepare", "-top", top, "-snapshot", snap, "-to", prep,
		"-builder-pid", strconv.Itoa(builder.Process.Pid)}, &out, &errs); rc != 0 {
		t.Fatalf("prepare: %d %s", rc, errs.String())
	}
	if _, err := os.Stat(filepath.Join(prep, preparePID)); err != nil {
		t.Fatal(err)
	}
	builder.Wait()
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(prep); os.IsNotExist(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the pass left its directory a minute after its builder ended")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// running reports whether process pid runs (this test's process is the
// parent of the pass, which stays a zombie until the test ends).
func running(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, after, _ := bytes.Cut(stat, []byte(") "))
	return len(after) > 0 && after[0] != 'Z'
}
