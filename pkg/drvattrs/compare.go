package drvattrs

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Change is one attribute two stages do not share.
type Change struct {
	Name string
	// Was is the earlier stage's value and Now the later one's; Had and
	// Has say whether each stage had the attribute at all.
	Was, Now string
	Had, Has bool
}

// String says what changed: "NAME was removed", "NAME was added" or
// "NAME differs".
func (c Change) String() string {
	switch {
	case !c.Has:
		return c.Name + " was removed"
	case !c.Had:
		return c.Name + " was added"
	}
	return c.Name + " differs"
}

// CompareOptions say which differences two stages may have.
type CompareOptions struct {
	// Ignore reports attributes that differ between stages by design:
	// the stage's name, its inputs, its outputs.
	Ignore func(name string) bool
	// Own reports attributes the later stage may have alone or with a
	// value of its own: those that belong to it or to a stage after it.
	Own func(name string) bool
	// Rewrite maps the earlier stage's text to the later one's (store
	// hashes of the outputs). Nil means none.
	Rewrite func(string) string
	// Allow reports a difference the split makes by design, such as
	// late inputs left out of an earlier stage's lists (see
	// [OnlyAddsStorePaths]). Nil allows none.
	Allow func(name, was, now string) bool
}

// Compare returns what the later stage has that the earlier one was not
// built with, sorted by name.
func Compare(earlier, later Attrs, opts CompareOptions) []Change {
	ignore := func(n string) bool { return opts.Ignore != nil && opts.Ignore(n) }
	rewrite := opts.Rewrite
	if rewrite == nil {
		rewrite = func(s string) string { return s }
	}
	var changes []Change
	own := func(n string) bool { return opts.Own != nil && opts.Own(n) }
	for n, was := range earlier {
		// The later stage's own attributes may differ: the earlier stage
		// was made without them, and mkDerivation gives some a default
		// (doInstallCheck).
		if ignore(n) || own(n) {
			continue
		}
		now, ok := later[n]
		if ok && opts.Allow != nil && opts.Allow(n, rewrite(was), now) {
			continue
		}
		if !ok || rewrite(was) != now {
			changes = append(changes, Change{Name: n, Was: was, Now: now, Had: true, Has: ok})
		}
	}
	for n, now := range later {
		if _, ok := earlier[n]; ok || ignore(n) || own(n) {
			continue
		}
		changes = append(changes, Change{Name: n, Now: now, Has: true})
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Name < changes[j].Name })
	return changes
}

// MismatchError reports that a stage was not made from the same package
// as the stage before it.
type MismatchError struct {
	// Stage is the stage that found the mismatch; Earlier the one whose
	// checkpoint it restores.
	Stage, Earlier string
	Changes        []Change
}

func (e *MismatchError) Error() string {
	var what []string
	for _, c := range e.Changes {
		what = append(what, c.String())
	}
	return fmt.Sprintf("the %s stage was not made from the package the %s stage was built from: %s",
		e.Stage, e.Earlier, strings.Join(what, ", "))
}

// OnlyAddsStorePaths reports whether now is was with store paths added: a
// list of words (or a JSON list of strings) whose extra elements are all
// absolute paths under storeDir, the others in the same order.
func OnlyAddsStorePaths(storeDir, was, now string) bool {
	w, n := Words(was), Words(now)
	i := 0
	for _, e := range n {
		if i < len(w) && w[i] == e {
			i++
			continue
		}
		if !strings.HasPrefix(e, storeDir+"/") {
			return false
		}
	}
	return i == len(w)
}

// Words splits an attribute's value into words: text at blanks, a
// structured attribute's JSON list into its strings, a JSON string at
// blanks.
func Words(v string) []string {
	if strings.HasPrefix(v, "[") {
		var l []string
		if json.Unmarshal([]byte(v), &l) == nil {
			return l
		}
	}
	if strings.HasPrefix(v, `"`) {
		var s string
		if json.Unmarshal([]byte(v), &s) == nil {
			v = s
		}
	}
	return strings.Fields(v)
}
