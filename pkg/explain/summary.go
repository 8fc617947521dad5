package explain

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Summary limits: how many added or removed items a summary names, and
// how long one may be.
const (
	maxItems   = 4
	maxItemLen = 48
)

// storePrefix matches a store path's directory and hash, which summaries
// leave out: /nix/store/HASH-zlib-1.3/lib reads zlib-1.3/lib.
var storePrefix = regexp.MustCompile(`/[^\s"'=:]*/[0-9a-df-np-sv-z]{32}-`)

// Summarize says briefly how the value old became new, as the text after
// an attribute's name: "+ EXTRA=1" for a word added to a list,
// "1.0 → 1.1" for a single word, `+ "wrapProgram $out/bin/x"` for a line
// added to shell code. Store paths are shortened to their names, items
// to maxItemLen bytes, and at most maxItems are named.
func Summarize(old, new string) string { return summarize(old, new, false) }

// SummarizeCode is Summarize for shell code (a phase, a hook such as
// postFixup): it compares lines, even of a one-line value.
func SummarizeCode(old, new string) string { return summarize(old, new, true) }

// isCode reports whether an attribute holds shell code by its name: a
// phase or a hook (preX, postX).
func isCode(name string) bool {
	for _, p := range []string{"pre", "post"} {
		if rest, ok := strings.CutPrefix(name, p); ok && rest != "" && rest[0] >= 'A' && rest[0] <= 'Z' {
			return true
		}
	}
	return strings.HasSuffix(name, "Phase") || name == "buildCommand" || name == "shellHook"
}

func summarize(old, new string, code bool) string {
	o, n := shorten(old), shorten(new)
	if o == n {
		return "other store paths"
	}
	switch {
	case strings.TrimSpace(o) == "":
		return "+ " + whole(n)
	case strings.TrimSpace(n) == "":
		return "- " + whole(o)
	}
	multi := code || strings.Contains(old, "\n") || strings.Contains(new, "\n")
	var a, b []string
	if multi {
		a, b = lines(o), lines(n)
	} else {
		a, b = words(o), words(n)
	}
	if len(a) == 1 && len(b) == 1 {
		return item(a[0], multi) + " → " + item(b[0], multi)
	}
	removed, added := diff(a, b)
	if len(removed) == 0 && len(added) == 0 {
		return "whitespace or order"
	}
	var parts []string
	for _, s := range removed {
		parts = append(parts, "- "+item(s, multi))
	}
	for _, s := range added {
		parts = append(parts, "+ "+item(s, multi))
	}
	if len(parts) > maxItems {
		parts = append(parts[:maxItems], fmt.Sprintf("… %d more", len(parts)-maxItems))
	}
	return strings.Join(parts, ", ")
}

// Brief is a value shortened for display, as Summarize shortens items.
func Brief(v string) string {
	v = shorten(v)
	if strings.Contains(v, "\n") {
		l := lines(v)
		if len(l) == 0 {
			return `""`
		}
		s := item(l[0], true)
		if len(l) > 1 {
			s += fmt.Sprintf(" … (%d lines)", len(l))
		}
		return s
	}
	return clip(quoteEmpty(v))
}

// whole shows a value added or removed whole: quoted when it has spaces.
func whole(v string) string {
	if strings.Contains(v, "\n") {
		return Brief(v)
	}
	return item(strings.TrimSpace(v), strings.ContainsAny(strings.TrimSpace(v), " \t"))
}

func shorten(s string) string { return storePrefix.ReplaceAllString(s, "") }

func quoteEmpty(s string) string {
	if strings.TrimSpace(s) == "" {
		return fmt.Sprintf("%q", s)
	}
	return s
}

func item(s string, line bool) string {
	if line {
		return fmt.Sprintf("%q", clip(s))
	}
	return clip(s)
}

func clip(s string) string {
	if len(s) <= maxItemLen {
		return s
	}
	cut := maxItemLen
	for cut > 0 && s[cut]&0xc0 == 0x80 { // not inside a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}

// words splits a list value: a JSON list of strings (structured
// attributes) or words separated by white space.
func words(s string) []string {
	if strings.HasPrefix(s, "[") {
		var l []string
		if json.Unmarshal([]byte(s), &l) == nil {
			return l
		}
	}
	// cachekey.Values writes "<output out>" for an output's hash: one
	// word.
	f := strings.Fields(strings.ReplaceAll(s, "<output ", "<output\x00"))
	for i := range f {
		f[i] = strings.ReplaceAll(f[i], "<output\x00", "<output ")
	}
	return f
}

// lines splits shell code into its non-blank lines, trimmed.
func lines(s string) []string {
	var l []string
	for line := range strings.SplitSeq(s, "\n") {
		if t := strings.TrimSpace(line); t != "" {
			l = append(l, t)
		}
	}
	return l
}

// diff returns the items of a that b lacks and those of b that a lacks,
// in order, by a longest common subsequence; for long lists (whose table
// would be large) by counting instead.
func diff(a, b []string) (removed, added []string) {
	if len(a)*len(b) > 1<<20 {
		return countDiff(a, b)
	}
	// l[i][j] is the LCS length of a[i:] and b[j:].
	l := make([][]int, len(a)+1)
	for i := range l {
		l[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				l[i][j] = l[i+1][j+1] + 1
			} else {
				l[i][j] = max(l[i+1][j], l[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			i, j = i+1, j+1
		case l[i+1][j] >= l[i][j+1]:
			removed = append(removed, a[i])
			i++
		default:
			added = append(added, b[j])
			j++
		}
	}
	return append(removed, a[i:]...), append(added, b[j:]...)
}

func countDiff(a, b []string) (removed, added []string) {
	n := map[string]int{}
	for _, s := range b {
		n[s]++
	}
	for _, s := range a {
		if n[s] > 0 {
			n[s]--
		} else {
			removed = append(removed, s)
		}
	}
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		if m[s] > 0 {
			m[s]--
		} else {
			added = append(added, s)
		}
	}
	return removed, added
}
