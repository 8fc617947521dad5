package ninjalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ManifestName is the manifest ninja reads by default.
const ManifestName = "build.ninja"

// ErrNinjaNotFound is returned (wrapped) by [Commands] and [Fix] when no
// ninja executable is found on $PATH.
var ErrNinjaNotFound = errors.New("ninja executable not found on $PATH")

// Commands returns, for every output of every non-phony edge of
// dir/build.ninja, the string ninja 1.11 hashes into .ninja_log for that
// edge (Edge::EvaluateCommand(true)): the evaluated command, followed by
// ";rspfile=" and the evaluated rspfile_content when the edge has a
// non-empty one. Outputs are keyed as ninja writes them into the log:
// canonicalised, relative to dir unless written as absolute paths. All
// outputs of an edge, implicit ones included, map to the same string.
//
// Commands evaluates the manifest itself, because ninja has no tool that
// prints the hashed string: ninja -t compdb shows only an edge's first
// output, leaves out the response file content and skips edges without
// inputs. It also runs "ninja -t compdb" in dir and requires ninja's
// command for every edge it lists to equal the evaluated one; any
// difference is reported as an error rather than guessed around.
// Outputs an edge only gains from a dyndep file are not in the map (see
// [Fix]).
func Commands(ctx context.Context, dir string) (map[string]string, error) {
	cmds, _, err := commands(ctx, dir)
	return cmds, err
}

// commands is Commands, also returning the manifest's $builddir.
func commands(ctx context.Context, dir string) (map[string]string, string, error) {
	// The manifest is parsed first: ninja then reads only files that
	// parsing read (see FixWithin).
	m, err := loadManifest(dir, ManifestName)
	if err != nil {
		return nil, "", fmt.Errorf("parse %s: %w", filepath.Join(dir, ManifestName), err)
	}
	return commandsOf(ctx, dir, m)
}

// commandsOf is commands for the manifest m, already loaded.
func commandsOf(ctx context.Context, dir string, m *manifest) (map[string]string, string, error) {
	ninja, err := exec.LookPath("ninja")
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrNinjaNotFound, err)
	}
	db, err := compdb(ctx, ninja, dir)
	if err != nil {
		return nil, "", err
	}
	cmds := make(map[string]string)
	checked := 0
	for _, e := range m.edges {
		var plain, logged string
		if e.rule.phony {
			plain, err = e.binding("command") // for the comparison only
		} else {
			plain, logged, err = e.command()
		}
		if err != nil {
			return nil, "", fmt.Errorf("evaluate edge for %s: %w", e.outs[0], err)
		}
		if len(e.ins) > 0 { // ninja -t compdb skips edges without inputs
			got, ok := db[e.outs[0]]
			if !ok {
				return nil, "", fmt.Errorf("manifest evaluation disagrees with ninja -t compdb: no edge for %q", e.outs[0])
			}
			if got != plain {
				return nil, "", fmt.Errorf("manifest evaluation disagrees with ninja -t compdb for %q: %s", e.outs[0], difference(got, plain))
			}
			checked++
		}
		if e.rule.phony {
			continue
		}
		for _, o := range e.outs {
			cmds[o] = logged
		}
	}
	if checked != len(db) {
		for o := range db {
			if e := m.outputs[o]; e == nil || e.outs[0] != o || len(e.ins) == 0 {
				return nil, "", fmt.Errorf("manifest evaluation disagrees with ninja -t compdb: ninja lists an edge for %q", o)
			}
		}
		return nil, "", fmt.Errorf("manifest evaluation disagrees with ninja -t compdb: %d edges listed, %d evaluated", len(db), checked)
	}
	return cmds, m.root.vars["builddir"], nil
}

// difference describes where ninja's command differs from ours.
func difference(ninja, ours string) string {
	i := 0
	for i < len(ninja) && i < len(ours) && ninja[i] == ours[i] {
		i++
	}
	from := max(i-40, 0)
	clip := func(s string) string { return s[min(from, len(s)):min(i+40, len(s))] }
	return fmt.Sprintf("ninja has …%q…, evaluated …%q… (at byte %d of %d and %d)",
		clip(ninja), clip(ours), i, len(ninja), len(ours))
}

// compdb runs ninja -t compdb in dir and returns each listed edge's
// first output and command.
func compdb(ctx context.Context, ninja, dir string) (map[string]string, error) {
	cmd := exec.CommandContext(ctx, ninja, "-t", "compdb")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("ninja -t compdb in %s: %w", dir, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("ninja -t compdb in %s: %w", dir, err)
	}
	db, decodeErr := decodeCompdb(stdout)
	if decodeErr != nil {
		_ = cmd.Process.Kill() // it may be blocked writing
	}
	waitErr := cmd.Wait()
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("ninja -t compdb in %s: %w", dir, ctx.Err())
	case waitErr != nil && (decodeErr == nil || cmd.ProcessState.Exited()):
		// Ninja failed by itself (not killed above): its message
		// explains more than the truncated output.
		return nil, fmt.Errorf("ninja -t compdb in %s: %w: %s", dir, waitErr, strings.TrimSpace(stderr.String()))
	case decodeErr != nil:
		return nil, fmt.Errorf("ninja -t compdb in %s: %w", dir, decodeErr)
	}
	return db, nil
}

// decodeCompdb decodes ninja -t compdb's JSON array into a map from each
// object's output to its command. Ninja writes bytes that are not valid
// UTF-8 through unchanged; encoding/json would replace them, so the
// strings are kept raw and unquoted by unquoteJSON.
func decodeCompdb(r io.Reader) (map[string]string, error) {
	dec := json.NewDecoder(r)
	if tok, err := dec.Token(); err != nil {
		return nil, err
	} else if tok != json.Delim('[') {
		return nil, fmt.Errorf("got %v, want a JSON array", tok)
	}
	db := make(map[string]string)
	for dec.More() {
		var obj struct{ Command, Output json.RawMessage }
		if err := dec.Decode(&obj); err != nil {
			return nil, err
		}
		out, err1 := unquoteJSON(obj.Output)
		command, err2 := unquoteJSON(obj.Command)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		db[out] = command
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return db, nil
}

// unquoteJSON decodes a JSON string literal byte for byte: unlike
// encoding/json it keeps bytes that are not valid UTF-8.
func unquoteJSON(raw json.RawMessage) (string, error) {
	s := string(raw)
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", fmt.Errorf("not a JSON string: %.40q", s)
	}
	s = s[1 : len(s)-1]
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b = append(b, s[i])
			continue
		}
		if i+1 >= len(s) {
			return "", fmt.Errorf("bad escape in JSON string %.40q", s)
		}
		i++
		switch c := s[i]; c {
		case '"', '\\', '/':
			b = append(b, c)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			if i+4 >= len(s) {
				return "", fmt.Errorf("bad escape in JSON string %.40q", s)
			}
			r, err := strconv.ParseUint(s[i+1:i+5], 16, 16)
			if err != nil {
				return "", fmt.Errorf("bad escape in JSON string %.40q", s)
			}
			i += 4
			if r < utf8.RuneSelf {
				b = append(b, byte(r))
			} else {
				b = utf8.AppendRune(b, rune(r))
			}
		default:
			return "", fmt.Errorf("bad escape in JSON string %.40q", s)
		}
	}
	return string(b), nil
}

// Stats describes what [Rehash] or [Fix] did to a build log. It counts
// the entries ninja uses, one per output.
type Stats struct {
	// Changed is the number of entries whose hash was replaced.
	Changed int
	// Unchanged is the number of entries that already had the hash of
	// their command.
	Unchanged int
	// Inferred is how many of the Changed and Unchanged entries got their
	// command from another output of the same edge rather than from the
	// command map (only [Fix] infers).
	Inferred int
	// Untouched lists, in log order, the outputs with an entry but no
	// known command. Their entries were left as they were; ninja rebuilds
	// such an output if the manifest still builds it and its command
	// changed.
	Untouched []string
}

// Rehash sets, in dir/.ninja_log, the hash of the entry ninja uses for
// each output that is a key of commands to HashCommand of its command,
// and rewrites the log (see [WriteFile]) if any hash changed. The
// commands map is typically the result of [Commands]; dir is the
// directory holding .ninja_log, which is the build directory unless the
// manifest sets $builddir.
func Rehash(dir string, commands map[string]string) (Stats, error) {
	path := filepath.Join(dir, LogName)
	l, err := ReadFile(path)
	if err != nil {
		return Stats{}, err
	}
	st := rehash(l, commands)
	if st.Changed > 0 {
		if err := WriteFile(path, l); err != nil {
			return st, err
		}
	}
	return st, nil
}

func rehash(l *Log, commands map[string]string) Stats {
	var st Stats
	for _, e := range l.Latest() {
		cmd, ok := commands[e.Output]
		if !ok {
			st.Untouched = append(st.Untouched, e.Output)
			continue
		}
		if l.SetHash(e.Output, HashCommand(cmd)) {
			st.Changed++
		} else {
			st.Unchanged++
		}
	}
	return st
}

// Fix makes ninja consider the finished build in dir up to date again
// after the command lines in its manifest changed: it gives every entry
// of the build log the hash of its output's current command. It combines
// [Commands] and [Rehash], reading the log from $builddir if the manifest
// sets it.
//
// Before rehashing, Fix infers commands for outputs missing from the
// manifest's edges, which are outputs an edge gained from a dyndep file:
// ninja logs all outputs of an edge together, with the same start, end,
// mtime and hash, so an unknown output whose entry shares all four with
// the entries of known outputs, all with one command, gets that command.
//
// Fix is only correct for a build that was complete and up to date
// before the manifest was rewritten; see the package documentation.
func Fix(ctx context.Context, dir string) (Stats, error) {
	cmds, builddir, err := commands(ctx, dir)
	if err != nil {
		return Stats{}, err
	}
	logDir := dir
	if builddir != "" {
		logDir = builddir
		if !filepath.IsAbs(builddir) {
			logDir = filepath.Join(dir, builddir)
		}
	}
	path := filepath.Join(logDir, LogName)
	l, err := ReadFile(path)
	if err != nil {
		return Stats{}, err
	}
	inferred := infer(l, cmds)
	st := rehash(l, cmds)
	st.Inferred = inferred
	if st.Changed > 0 {
		if err := WriteFile(path, l); err != nil {
			return st, err
		}
	}
	return st, nil
}

// infer adds to cmds the commands of logged outputs it lacks, from
// entries logged together with theirs (see Fix), and returns how many.
func infer(l *Log, cmds map[string]string) int {
	type key struct {
		start, end int32
		mtime      int64
		hash       uint64
	}
	k := func(e Entry) key { return key{e.Start, e.End, e.Mtime, e.Hash} }
	const conflict = "\x00conflict"
	known := make(map[key]string)
	latest := l.Latest()
	for _, e := range latest {
		cmd, ok := cmds[e.Output]
		if !ok {
			continue
		}
		if prev, seen := known[k(e)]; seen && prev != cmd {
			cmd = conflict
		}
		known[k(e)] = cmd
	}
	n := 0
	for _, e := range latest {
		if _, ok := cmds[e.Output]; ok {
			continue
		}
		if cmd, ok := known[k(e)]; ok && cmd != conflict {
			cmds[e.Output] = cmd
			n++
		}
	}
	return n
}
