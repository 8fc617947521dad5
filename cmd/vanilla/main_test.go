package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/nix-vanilla/nix-vanilla/internal/stage"
	"github.com/nix-vanilla/nix-vanilla/pkg/checkpoint"
)

var update = flag.Bool("u", false, "update testscript files with the actual output")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"vanilla": func() { os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		UpdateScripts:       *update,
		Cmds:                cacheScriptCmds,
	})
}

// TestBuildsForDarwin cross-compiles every package of the module (the
// library, not only the helper) for macOS and for 64-bit ARM Linux:
// nixpkgs builds packages there too, and outside developers import the
// packages on their own machines. For darwin/arm64 the tests compile too
// (go vet type-checks them).
func TestBuildsForDarwin(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	for _, target := range []struct{ goos, arch, cmd string }{
		{"darwin", "arm64", "vet"},
		{"darwin", "amd64", "build"},
		{"linux", "arm64", "build"},
	} {
		cmd := exec.Command(goTool, target.cmd, "./...")
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "GOOS="+target.goos, "GOARCH="+target.arch, "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("go %s ./... for %s/%s: %v\n%s", target.cmd, target.goos, target.arch, err, out)
		}
	}
}

// TestHelpGoesToStdout checks that COMMAND -h prints the flags to the
// writer run was given, not to the process's standard output.
func TestHelpGoesToStdout(t *testing.T) {
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"snapshot", "-h"}, "-top"},
		{[]string{"save", "-h"}, "-stage"},
		{[]string{"restore", "-h"}, "-script"},
		{[]string{"check-phase", "-h"}, "-phase"},
		{[]string{"patch-setup", "-h"}, "-w"},
		{[]string{"cache", "ls", "-h"}, "-json"},
		{[]string{"cache", "rm", "-h"}, "-dir"},
		{[]string{"cache", "lookup", "-h"}, "-name"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tc.args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d, stderr %q", code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.flag) {
				t.Errorf("stdout %q does not name %s", stdout.String(), tc.flag)
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr %q, want nothing", stderr.String())
			}
		})
	}
}

// TestAdviceFor checks that the library's typed errors, which say only
// what happened, get the CLI's advice, wrapped or not.
func TestAdviceFor(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("restore: %w", err) }
	for _, tc := range []struct {
		name string
		err  error
		want string // a part of the advice; "" for none
	}{
		{"leftover", wrap(&checkpoint.LeftoverError{Path: "out/lib/a.gz", Hashes: []string{"x"}}), "compress it after installPhase"},
		{"checksum", wrap(&checkpoint.ChecksumError{Path: "out/a.png", Err: errors.New("bad")}), "write it after installPhase"},
		{"corrupt", wrap(&checkpoint.CorruptError{Dir: "ckpt", Err: errors.New("no manifest.json")}), "rebuild the stage that made the checkpoint"},
		{"rebuilt", &stage.RebuiltError{Tool: "dune", Files: []string{"a"}}, "without vanillaPackage"},
		{"other", errors.New("disk full"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := adviceFor(tc.err)
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("adviceFor(%v) = %q, want one with %q", tc.err, got, tc.want)
			}
			if strings.Contains(tc.err.Error(), "vanillaPackage") || strings.Contains(tc.err.Error(), "rebuild the stage") {
				t.Errorf("the error itself gives advice: %v", tc.err)
			}
		})
	}
}
