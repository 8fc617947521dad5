package stage

import (
	"strings"
	"testing"
	"time"

	"github.com/nix-vanilla/nix-vanilla/pkg/checkpoint"
	"github.com/nix-vanilla/nix-vanilla/pkg/shellstate"
	"github.com/nix-vanilla/nix-vanilla/pkg/unpack"
)

// TestWriteLog checks the log lines of a restore, which the test bed and
// the benchmarks parse, for each step Restore got to.
func TestWriteLog(t *testing.T) {
	ckpt := &checkpoint.Result{
		Files: 3120, Bytes: 41_000_000, Rewritten: 12, BuildIDs: 2, NinjaLogs: 40,
		Warnings: []string{"a.gz: something"},
		Unpacked: &unpack.Result{Files: 78000, Bytes: 1_300_000_000, Elapsed: 3500 * time.Millisecond},
	}
	shell := &shellstate.Merged{Vars: []string{"a", "b"}, Unset: []string{"c"}, Funcs: []string{"f"}, UnsetFuncs: []string{"g"}, Skipped: []string{"ro"}}
	restored := "vanilla: unpacked the source again itself, only the 78,000 files the build left alone (1.3 GB), 3.50 s\n" +
		"vanilla: restored 41 MB in 3,120 files from /nix/store/x-checkpoint, store paths rewritten in 12, 2 build-ids recomputed, 40 ninja log entries rehashed, 0.40 s\n" +
		"vanilla: warning: a.gz: something\n"
	for _, tc := range []struct {
		name string
		r    RestoreResult
		want string
	}{
		{"nothing restored", RestoreResult{From: "/nix/store/x-checkpoint"}, ""},
		{"checkpoint only", RestoreResult{From: "/nix/store/x-checkpoint", Checkpoint: ckpt, Took: 400 * time.Millisecond}, restored},
		{"everything", RestoreResult{From: "/nix/store/x-checkpoint", Checkpoint: ckpt, Took: 400 * time.Millisecond,
			Shell: shell, Dir: "/build/src", Conflicts: []Conflict{{"PATH", false}, {"postInstall", true}}},
			restored + "vanilla: replayed shell state: 3 variables, 2 functions, working directory /build/src\n" +
				"vanilla: warning: PATH was changed both by the checkpointed phases and by this stage; using the value of the checkpointed phases\n" +
				"vanilla: warning: postInstall was changed both by the checkpointed phases and by this stage; using the value of the stage's attribute\n" +
				"vanilla: warning: ro is readonly here; not restored\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			tc.r.WriteLog(&b)
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
}
