package drvattrs

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestFromEnviron(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, ".attr-x")
	if err := os.WriteFile(file, []byte("make install\nrm -f x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := "HOME=/homeless-shelter\x00postInstall=echo a=b\x00passAsFile=installPhase\x00installPhasePath=" + file + "\x00TMPDIR=/build\x00"
	a, err := FromEnviron([]byte(env))
	if err != nil {
		t.Fatal(err)
	}
	if a["postInstall"] != "echo a=b" {
		t.Errorf("postInstall = %q", a["postInstall"])
	}
	if a["installPhase"] != "make install\nrm -f x\n" {
		t.Errorf("installPhase (passed as a file) = %q", a["installPhase"])
	}
	for _, n := range []string{"HOME", "TMPDIR", "installPhasePath"} {
		if _, ok := a[n]; ok {
			t.Errorf("%s kept", n)
		}
	}
}

// The environment a process started with stays what Nix passed, whatever
// the shell exports afterwards.
func TestReadInitialEnvironment(t *testing.T) {
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skip("no /proc")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not found")
	}
	cmd := exec.Command(bash, "-c", `export postInstall=changed; cat /proc/$$/environ; true`)
	cmd.Env = []string{"postInstall=as passed", "name=hello-1.0"}
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	a, err := FromEnviron(out)
	if err != nil {
		t.Fatal(err)
	}
	if a["postInstall"] != "as passed" || a["name"] != "hello-1.0" {
		t.Errorf("attributes = %v", a)
	}
}

func TestFromJSON(t *testing.T) {
	a, err := FromJSON([]byte(`{"postInstall": "x", "flags": [ "a b", "c" ], "n": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	if a["postInstall"] != `"x"` || a["flags"] != `["a b","c"]` || a["n"] != "1" {
		t.Errorf("attributes = %v", a)
	}
}

func TestCompare(t *testing.T) {
	earlier := Attrs{"doInstallCheck": "", "name": "p-1.0", "configureFlags": "--prefix=/nix/store/aaaa-p-1.0", "postInstall": "old", "vanillaStage": "unwrapped", "gone": "x"}
	later := Attrs{"doInstallCheck": "1", "name": "p-1.0", "configureFlags": "--prefix=/nix/store/bbbb-p-1.0", "postInstall": "new", "vanillaStage": "final", "postFixup": "f", "preInstall": "added"}
	changes := Compare(earlier, later, CompareOptions{
		Ignore:  func(n string) bool { return n == "vanillaStage" },
		Own:     func(n string) bool { return n == "postFixup" || n == "doInstallCheck" },
		Rewrite: strings.NewReplacer("aaaa", "bbbb").Replace,
	})
	var got []string
	for _, c := range changes {
		got = append(got, c.String())
	}
	want := "gone was removed, postInstall differs, preInstall was added"
	if s := strings.Join(got, ", "); s != want {
		t.Errorf("changes = %q, want %q", s, want)
	}
	err := error(&MismatchError{Stage: "final", Earlier: "unwrapped", Changes: changes})
	var m *MismatchError
	if !errors.As(err, &m) || !strings.Contains(err.Error(), "postInstall differs") {
		t.Errorf("error = %v", err)
	}
}

func TestOnlyAddsStorePaths(t *testing.T) {
	for _, tt := range []struct {
		was, now string
		want     bool
	}{
		{"/nix/store/a-x", "/nix/store/a-x /nix/store/b-late", true},
		{"", "/nix/store/b-late", true},
		{`["/nix/store/a-x"]`, `["/nix/store/b-late","/nix/store/a-x"]`, true},
		{"/nix/store/a-x", "/nix/store/a-x -I/usr/include", false},
		{"/nix/store/a-x /nix/store/c-y", "/nix/store/c-y /nix/store/a-x", false},
		{"/nix/store/a-x", "", false},
	} {
		if got := OnlyAddsStorePaths("/nix/store", tt.was, tt.now); got != tt.want {
			t.Errorf("OnlyAddsStorePaths(%q, %q) = %v", tt.was, tt.now, got)
		}
	}
}

// A KERN_PROCARGS2 record as darwin's kernel lays it out (argc, the
// executable path and its padding, the arguments, the environment, an
// empty string, the "apple" strings) gives the environment alone.
func TestProcArgsEnviron(t *testing.T) {
	rec := []byte("\x02\x00\x00\x00/bin/bash\x00\x00\x00\x00bash\x00-e\x00" +
		"postInstall=as passed\x00name=hello-1.0\x00\x00" +
		"ptr_munge=\x00executable_file=0x1a01000009,0x2f3\x00")
	env, err := procArgsEnviron(rec)
	if err != nil {
		t.Fatal(err)
	}
	if want := "postInstall=as passed\x00name=hello-1.0\x00"; string(env) != want {
		t.Errorf("environment %q, want %q", env, want)
	}
	a, err := FromEnviron(env)
	if err != nil || a["postInstall"] != "as passed" || len(a) != 2 {
		t.Errorf("attributes = %v, %v", a, err)
	}
	p, err := procArgs(rec)
	if err != nil || p.Exe != "/bin/bash" || string(p.Cmdline) != "bash\x00-e\x00" {
		t.Errorf("procArgs: %+v, %v; want /bin/bash run as bash -e", p, err)
	}
	for _, bad := range []string{"\x02\x00", "\x01\x00\x00\x00/bin/bash", "\x03\x00\x00\x00/bin/sh\x00a\x00b\x00", "\x00\x00\x00\x00/bin/sh\x00x=1"} {
		if _, err := procArgsEnviron([]byte(bad)); err == nil {
			t.Errorf("procArgsEnviron(%q) succeeded", bad)
		}
	}
}

// TestReadProcess reads this test's own process: its arguments, its
// environment and its executable.
func TestReadProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	p, err := ReadProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Join(os.Args, "\x00") + "\x00"; string(p.Cmdline) != want {
		t.Errorf("Cmdline %q, want %q", p.Cmdline, want)
	}
	if exe, _ := os.Executable(); p.Exe != exe {
		t.Errorf("Exe %q, want %q", p.Exe, exe)
	}
	if !bytes.Contains(p.Environ, []byte("PATH=")) {
		t.Errorf("Environ holds no PATH: %q", p.Environ)
	}
}
