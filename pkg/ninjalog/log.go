package ninjalog

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/nix-vanilla/nix-vanilla/pkg/inplace"
)

// LogName is the file name of ninja's build log inside the build
// directory (or inside $builddir when the manifest sets it).
const LogName = ".ninja_log"

// ErrUnsupportedVersion is returned (wrapped) by [Parse] for a build log
// whose header names a format other than v5 or v6. Version 4 stores
// commands instead of hashes; version 7 (ninja 1.13 and later) hashes
// commands with rapidhash rather than MurmurHash64A.
var ErrUnsupportedVersion = errors.New("unsupported ninja log version")

// ErrNoHeader is returned (wrapped) by [Parse] for non-empty data that
// does not start with a "# ninja log v<N>" line. Ninja itself deletes
// such a log and starts over.
var ErrNoHeader = errors.New("missing \"# ninja log v<N>\" header")

const headerPrefix = "# ninja log v"

// Entry is one record of a build log: what ninja remembers about an
// output after the edge producing it last ran.
type Entry struct {
	// Start and End are the command's start and end times, in
	// milliseconds since the start of the ninja run that ran it.
	Start, End int32
	// Mtime is the mtime ninja recorded for the output (nanoseconds
	// since the epoch for ninja 1.10 and later): in ninja 1.11, the
	// newest mtime among the edge's outputs after the command, or for a
	// restat rule that left an output untouched the newest input mtime.
	Mtime int64
	// Output is the output path as written in the manifest, after
	// ninja's path canonicalisation (see [Commands]).
	Output string
	// Hash is [HashCommand] of the command that produced Output.
	Hash uint64
}

// String formats e as ninja writes it, without the trailing newline.
func (e Entry) String() string {
	return fmt.Sprintf("%d\t%d\t%d\t%s\t%x", e.Start, e.End, e.Mtime, e.Output, e.Hash)
}

// logLine is one line of a log after its header.
type logLine struct {
	// raw is the line as read, including its '\n' if it had one. It is
	// emptied when entry is modified, so that the line is reformatted.
	raw string
	// isEntry reports whether ninja loads this line as an entry (it has
	// at least four tabs and ends in '\n'); other lines are kept verbatim.
	isEntry bool
	entry   Entry
}

// Log is a parsed .ninja_log. It keeps every line of the file, in order,
// including entries superseded by later ones for the same output and
// lines ninja ignores, so that [Log.Bytes] reproduces the input exactly
// except for the entries changed through [Log.SetHash].
//
// The zero Log is an empty log (an empty file, which ninja accepts).
type Log struct {
	// Version is the format version from the header (5 or 6), or 0 for
	// an empty log.
	Version int
	header  string
	lines   []logLine
	// last maps an output to the index in lines of its last entry, the
	// one ninja uses.
	last map[string]int
}

// Parse parses the contents of a .ninja_log the way ninja 1.11
// (BuildLog::Load) does. It accepts format versions 5 and 6, which share
// one line format and one hash; empty data yields an empty Log.
//
// Each line after the header is "start\tend\tmtime\toutput\thash\n" with
// decimal start, end (ms) and mtime, and a lower-case hexadecimal hash.
// Like ninja, Parse skips lines with fewer than four tabs and a final
// line without a newline, and reads the numbers leniently (as C's atoi,
// strtoll and strtoull do); such lines are preserved as they are.
func Parse(data []byte) (*Log, error) {
	l := &Log{last: make(map[string]int)}
	if len(data) == 0 {
		return l, nil
	}
	header, rest := data, []byte(nil)
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		header, rest = data[:i+1], data[i+1:]
	}
	v, ok := parseHeader(header)
	if !ok {
		return nil, fmt.Errorf("ninja log: %w", ErrNoHeader)
	}
	if v != 5 && v != 6 {
		return nil, fmt.Errorf("ninja log: v%d: %w (want v5 or v6)", v, ErrUnsupportedVersion)
	}
	l.Version = v
	l.header = string(header)
	for len(rest) > 0 {
		var raw []byte
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			raw, rest = rest[:i+1], rest[i+1:]
		} else {
			raw, rest = rest, nil
		}
		ln := logLine{raw: string(raw)}
		ln.entry, ln.isEntry = parseEntry(raw)
		if ln.isEntry {
			l.last[ln.entry.Output] = len(l.lines)
		}
		l.lines = append(l.lines, ln)
	}
	return l, nil
}

// parseHeader reads the version from a "# ninja log v<N>" line.
func parseHeader(line []byte) (int, bool) {
	s, ok := strings.CutPrefix(string(line), headerPrefix)
	if !ok {
		return 0, false
	}
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	if end == 0 || end > 9 {
		return 0, false
	}
	v, err := strconv.Atoi(s[:end])
	if err != nil {
		return 0, false
	}
	return v, true
}

// parseEntry parses one log line (including its '\n') as ninja does.
func parseEntry(raw []byte) (Entry, bool) {
	if len(raw) == 0 || raw[len(raw)-1] != '\n' {
		return Entry{}, false // ninja ignores an unterminated last line
	}
	line := string(raw[:len(raw)-1])
	f := strings.SplitN(line, "\t", 5)
	if len(f) < 5 {
		return Entry{}, false
	}
	return Entry{
		Start:  int32(cStrtoll(f[0])), // atoi: conversion to int truncates
		End:    int32(cStrtoll(f[1])),
		Mtime:  cStrtoll(f[2]),
		Output: f[3],
		Hash:   cStrtoull16(f[4]),
	}, true
}

// isCSpace reports whether c is whitespace for C's isspace in the C locale.
func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// cStrtoll is C's strtoll(s, NULL, 10): leading space, an optional sign,
// digits up to the first non-digit, saturating on overflow.
func cStrtoll(s string) int64 {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var v uint64
	overflow := false
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := uint64(s[i] - '0')
		if v > (math.MaxUint64-d)/10 {
			overflow = true
			continue
		}
		v = v*10 + d
	}
	switch {
	case neg && (overflow || v > 1<<63):
		return math.MinInt64
	case neg:
		return -int64(v)
	case overflow || v > math.MaxInt64:
		return math.MaxInt64
	}
	return int64(v)
}

// cStrtoull16 is C's strtoull(s, NULL, 16): leading space, an optional
// sign, an optional 0x prefix, hex digits up to the first other byte,
// saturating on overflow, a minus sign negating the result.
func cStrtoull16(s string) uint64 {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if i+2 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') && hexVal(s[i+2]) >= 0 {
		i += 2
	}
	var v uint64
	for ; i < len(s) && hexVal(s[i]) >= 0; i++ {
		if v>>60 != 0 {
			return math.MaxUint64
		}
		v = v<<4 | uint64(hexVal(s[i]))
	}
	if neg {
		return -v
	}
	return v
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// Bytes returns the log in ninja's format: the input given to [Parse],
// byte for byte, except that entries changed by [Log.SetHash] are
// reformatted as ninja writes them.
func (l *Log) Bytes() []byte {
	var b bytes.Buffer
	b.WriteString(l.header)
	for _, ln := range l.lines {
		if ln.raw != "" {
			b.WriteString(ln.raw)
			continue
		}
		b.WriteString(ln.entry.String())
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Entries returns every entry of the log in file order, including entries
// superseded by a later one for the same output.
func (l *Log) Entries() []Entry {
	var es []Entry
	for _, ln := range l.lines {
		if ln.isEntry {
			es = append(es, ln.entry)
		}
	}
	return es
}

// Latest returns the entries ninja uses: the last one for each output, in
// file order.
func (l *Log) Latest() []Entry {
	var es []Entry
	for i, ln := range l.lines {
		if ln.isEntry && l.last[ln.entry.Output] == i {
			es = append(es, ln.entry)
		}
	}
	return es
}

// Lookup returns the entry ninja uses for output (the last one).
func (l *Log) Lookup(output string) (Entry, bool) {
	i, ok := l.last[output]
	if !ok {
		return Entry{}, false
	}
	return l.lines[i].entry, true
}

// SetHash sets the command hash of the entry ninja uses for output (the
// last one) and reports whether that changed the log. Earlier entries for
// output, which ninja ignores, are left alone.
func (l *Log) SetHash(output string, hash uint64) bool {
	i, ok := l.last[output]
	if !ok || l.lines[i].entry.Hash == hash {
		return false
	}
	l.lines[i].entry.Hash = hash
	l.lines[i].raw = ""
	return true
}

// ReadFile reads and parses the build log at path.
func ReadFile(path string) (*Log, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read ninja log: %w", err)
	}
	l, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// WriteFile replaces the file at path with l atomically: it writes a
// temporary file in the same directory, gives it the mode and
// modification time of the file it replaces (mode 0644 and the current
// time if there is none), syncs it and renames it over path. If path is
// a symbolic link, the file it points to is replaced instead.
func WriteFile(path string, l *Log) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("write ninja log %s: %w", path, err)
		}
	}()
	return inplace.Replace(path, l.Bytes())
}
