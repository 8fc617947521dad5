package stage

import (
	"fmt"
	"io"
)

// WriteLog writes to w the helper's log lines for what r says Restore
// did: the unpack of the source, the checkpoint's restore, its warnings,
// the shell state replayed and the merge's warnings. The test bed and the
// benchmarks read these lines: keep their wording.
func (r *RestoreResult) WriteLog(w io.Writer) {
	if r.CopyFailed != nil {
		fmt.Fprintf(w, "vanilla: %v; unpacking the sources\n", r.CopyFailed)
	}
	res := r.Checkpoint
	if res == nil {
		return
	}
	if u := res.Unpacked; u != nil {
		from := ""
		switch {
		case res.SourceCopyDir != "":
			from = " from the source copy of " + res.SourceCopyDir
		case res.FromSourceCopy:
			from = " from the checkpoint's source copy"
		}
		fmt.Fprintf(w, "vanilla: unpacked the source again itself%s, only the %s files the build left alone (%s), %s\n",
			from, count(u.Files), size(u.Bytes), seconds(u.Elapsed))
	}
	fmt.Fprintf(w, "vanilla: restored %s in %s files from %s", size(res.Bytes), count(res.Files), r.From)
	for _, part := range []struct {
		n      int
		format string
	}{
		{res.Rewritten, ", store paths rewritten in %s"},
		{res.BuildIDs, ", %s build-ids recomputed"},
		{res.Pycs, ", %s .pyc source hashes"},
		{res.DebugLinks, ", %s debuglink CRCs"},
		{res.FormatSums, ", PNG/tar/zip checksums recomputed in %s"},
		{res.Digests, ", digests updated in %s"},
		{res.NinjaLogs, ", %s ninja log entries rehashed"},
	} {
		if part.n > 0 {
			fmt.Fprintf(w, part.format, count(part.n))
		}
	}
	fmt.Fprintf(w, ", %s\n", seconds(r.Took))
	for _, warning := range res.Warnings {
		fmt.Fprintf(w, "vanilla: warning: %s\n", warning)
	}

	m := r.Shell
	if m == nil {
		return
	}
	fmt.Fprintf(w, "vanilla: replayed shell state: %d variables, %d functions", len(m.Vars)+len(m.Unset), len(m.Funcs)+len(m.UnsetFuncs))
	if r.Dir != "" {
		fmt.Fprintf(w, ", working directory %s", r.Dir)
	}
	fmt.Fprintln(w)
	for _, c := range r.Conflicts {
		winner := "checkpointed phases"
		if c.Late {
			winner = "stage's attribute"
		}
		fmt.Fprintf(w, "vanilla: warning: %s was changed both by the checkpointed phases and by this stage; using the value of the %s\n", c.Name, winner)
	}
	for _, name := range m.Reordered {
		fmt.Fprintf(w, "vanilla: warning: the checkpointed phases rewrote %s (not only added to it) and this stage added directories to it: using their value with this stage's new directories first\n", name)
	}
	for _, name := range m.Skipped {
		fmt.Fprintf(w, "vanilla: warning: %s is readonly here; not restored\n", name)
	}
}
