package shellstate

import (
	"fmt"
	"strconv"
	"strings"
)

// MergeOptions control [Merge].
type MergeOptions struct {
	// Owned reports whether the later stage owns a variable, so that its
	// fresh value is kept whatever the early phases did. Bash's own special
	// variables (see [Special]) are always owned.
	Owned func(name string) bool
	// Rewrite maps text of the earlier stage to the later one: store paths
	// of the earlier outputs, the earlier build directory. Nil means none.
	Rewrite func(string) string
	// Late reports whether a variable is one of the later stage's own late
	// attributes. The early phases never saw its value: what they added to
	// it is added to the later stage's value, and otherwise that value wins.
	Late func(name string) bool
	// CreateDir makes the script create the working directory before it
	// changes into it (for a stage that does not restore the build tree).
	CreateDir bool
}

// Merged is the result of [Merge].
type Merged struct {
	// Script is bash code that, sourced in the later stage, applies the
	// early phases' changes.
	Script string
	// Vars and Unset name the variables the script sets and unsets.
	Vars, Unset []string
	// Funcs and UnsetFuncs name the functions the script defines and
	// unsets.
	Funcs, UnsetFuncs []string
	// Conflicts name variables that both the early phases and the later
	// stage's setup changed, where the early phases' value won.
	Conflicts []string
	// Reordered names search paths (PATH) that both sides changed, the
	// early phases by more than adding text around the old value: the
	// early value is kept, with the directories only this stage's value
	// has in front (see [Merge]).
	Reordered []string
	// Skipped names readonly variables the script cannot change.
	Skipped []string
}

// Merge computes what the early phases changed between before and after
// (two states of the same build) and returns a script that applies those
// changes on top of fresh, the later stage's state before its first phase.
func Merge(before, after, fresh *State, opts MergeOptions) (*Merged, error) {
	rewrite := opts.Rewrite
	if rewrite == nil {
		rewrite = func(s string) string { return s }
	}
	owned := func(name string) bool {
		return Special(name) || (opts.Owned != nil && opts.Owned(name))
	}
	m := &Merged{}
	var b strings.Builder
	b.WriteString("# nix-vanilla: shell state of the checkpointed phases\n")

	for _, name := range names(before.Vars) {
		if _, ok := after.Vars[name]; ok || owned(name) {
			continue
		}
		if f := fresh.Vars[name]; f != nil {
			if strings.ContainsRune(f.Flags, 'r') {
				m.Skipped = append(m.Skipped, name)
				continue
			}
			fmt.Fprintf(&b, "unset -v %s\n", name)
			m.Unset = append(m.Unset, name)
		}
	}
	var readonly []string
	for _, name := range names(after.Vars) {
		a := after.Vars[name]
		if owned(name) || a.Equal(before.Vars[name]) {
			continue
		}
		f := fresh.Vars[name]
		if f != nil && strings.ContainsRune(f.Flags, 'r') {
			m.Skipped = append(m.Skipped, name)
			continue
		}
		v := rewriteVar(a, rewrite)
		if opts.Late != nil && opts.Late(name) && f != nil {
			merged, ok := splice(before.Vars[name], a, f, rewrite)
			if !ok {
				m.Conflicts = append(m.Conflicts, name)
				continue
			}
			v = merged
		} else if bv := before.Vars[name]; f != nil && bv != nil && !f.Equal(bv) {
			// Both sides changed it: keep the fresh value where the early
			// phases only added text around the old one.
			if merged, ok := splice(bv, a, f, rewrite); ok {
				v = merged
			} else if merged, ok := spliceList(rewriteVar(bv, rewrite), v, f); ok {
				// A search path the early phases rewrote wholesale (sort
				// -u of PATH): their value, with the directories this
				// stage's setup added (late inputs) first, as setup.sh
				// puts them. Where the plain build's rewrite would have
				// put them is not known.
				v = merged
				m.Reordered = append(m.Reordered, name)
			} else {
				m.Conflicts = append(m.Conflicts, name)
			}
		}
		decl, err := v.Declare()
		if err != nil {
			return nil, err
		}
		if f != nil && (f.Kind != v.Kind || f.Flags != v.Flags) {
			fmt.Fprintf(&b, "unset -v %s\n", name)
		}
		b.WriteString(decl + "\n")
		m.Vars = append(m.Vars, name)
		if strings.ContainsRune(a.Flags, 'r') {
			readonly = append(readonly, name)
		}
	}
	// Declare leaves -r out, so that the script can set every value; a
	// variable the early phases made readonly becomes so once all are set.
	for _, name := range readonly {
		fmt.Fprintf(&b, "readonly -- %s\n", name)
	}

	for _, name := range names(before.Funcs) {
		if _, ok := after.Funcs[name]; !ok && !owned(name) {
			if _, ok := fresh.Funcs[name]; ok {
				fmt.Fprintf(&b, "unset -f %s\n", name)
				m.UnsetFuncs = append(m.UnsetFuncs, name)
			}
		}
	}
	for _, name := range names(after.Funcs) {
		def := after.Funcs[name]
		if owned(name) || before.Funcs[name] == def {
			continue
		}
		b.WriteString(rewrite(def) + "\n")
		m.Funcs = append(m.Funcs, name)
	}

	for _, opt := range names(after.Options) {
		if cmd := after.Options[opt]; before.Options[opt] != cmd && fresh.Options[opt] != cmd {
			b.WriteString(cmd + "\n")
		}
	}

	if after.Dir != "" {
		dir, err := quote(rewrite(after.Dir))
		if err != nil {
			return nil, fmt.Errorf("working directory: %w", err)
		}
		if opts.CreateDir {
			fmt.Fprintf(&b, "mkdir -p -- %s\n", dir)
		}
		fmt.Fprintf(&b, "cd -- %s\n", dir)
		if err := pushDirs(&b, after.Vars["DIRSTACK"], rewrite); err != nil {
			return nil, err
		}
	}
	m.Script = b.String()
	return m, nil
}

// pushDirs writes the commands that rebuild the directory stack (pushd in
// preBuild, popd in postBuild): bash owns DIRSTACK, so it cannot be
// declared, but `pushd -n` adds an entry below the top without changing
// directory. Entry 0 is the working directory, already changed into.
func pushDirs(b *strings.Builder, stack *Var, rewrite func(string) string) error {
	if stack == nil || stack.Kind != Indexed {
		return nil
	}
	for i := len(stack.Elems) - 1; i >= 1; i-- {
		dir, err := quote(rewrite(stack.Elems[i].Value))
		if err != nil {
			return fmt.Errorf("directory stack: %w", err)
		}
		fmt.Fprintf(b, "pushd -n -- %s >/dev/null\n", dir)
	}
	return nil
}

// splice merges a variable both sides changed: when the early phases
// turned before into after by adding text around it (or elements after it),
// the same is added around fresh. From a nil or empty before, array
// elements and text that starts with a blank count as appended.
func splice(before, after, fresh *Var, rewrite func(string) string) (*Var, bool) {
	if before == nil {
		before = &Var{Kind: after.Kind}
	}
	if before.Kind != after.Kind || fresh.Kind != after.Kind {
		return nil, false
	}
	v := *after
	switch after.Kind {
	case Scalar:
		head, tail, ok := strings.Cut(after.Value, before.Value)
		// From an empty value, only a word list appended with a leading
		// blank (flags+=" X") is taken as added to the fresh value.
		if !ok || (before.Value == "" && !strings.HasPrefix(after.Value, " ")) {
			return nil, false
		}
		v.Value = rewrite(head) + fresh.Value + rewrite(tail)
		return &v, true
	case Indexed:
		if len(before.Elems) > len(after.Elems) {
			return nil, false
		}
		for i, e := range before.Elems {
			if after.Elems[i] != e {
				return nil, false
			}
		}
		v.Elems = nil
		for _, e := range fresh.Elems {
			v.Elems = append(v.Elems, Elem{Key: strconv.Itoa(len(v.Elems)), Value: e.Value})
		}
		for _, e := range after.Elems[len(before.Elems):] {
			v.Elems = append(v.Elems, Elem{Key: strconv.Itoa(len(v.Elems)), Value: rewrite(e.Value)})
		}
		return &v, true
	}
	return nil, false
}

// spliceList merges a colon-separated search path that the early phases
// changed from before to after (both rewritten) keeping each of before's
// directories, and the later stage's setup from before to fresh: the
// directories fresh added first, then after's, without repeating any. It
// reports false for other variables and other changes.
func spliceList(before, after, fresh *Var) (*Var, bool) {
	if before == nil || before.Kind != Scalar || after.Kind != Scalar || fresh.Kind != Scalar ||
		!strings.Contains(before.Value+after.Value+fresh.Value, ":") {
		return nil, false
	}
	had := map[string]bool{}
	for _, d := range strings.Split(before.Value, ":") {
		had[d] = true
	}
	// Only a rewrite that kept every directory (reordered, deduplicated,
	// added to) is taken as one of the old value: PATH=/only/this left
	// the later stage's directories out in the plain build too.
	kept := map[string]bool{}
	for _, d := range strings.Split(after.Value, ":") {
		kept[d] = true
	}
	for d := range had {
		if !kept[d] {
			return nil, false
		}
	}
	var added []string
	for _, d := range strings.Split(fresh.Value, ":") {
		if !had[d] {
			added = append(added, d)
		}
	}
	if len(added) == 0 {
		return nil, false
	}
	seen := map[string]bool{}
	var dirs []string
	for _, d := range append(added, strings.Split(after.Value, ":")...) {
		if !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	v := *after
	v.Value = strings.Join(dirs, ":")
	return &v, true
}

func rewriteVar(v *Var, rewrite func(string) string) *Var {
	c := *v
	c.Value = rewrite(v.Value)
	c.Elems = make([]Elem, len(v.Elems))
	for i, e := range v.Elems {
		c.Elems[i] = Elem{Key: rewrite(e.Key), Value: rewrite(e.Value)}
	}
	return &c
}

// Special reports whether bash itself sets or owns the variable, so that no
// saved value of it may be replayed: BASH_*, FUNCNAME, PWD, RANDOM, …
func Special(name string) bool {
	if strings.HasPrefix(name, "BASH") || strings.HasPrefix(name, "COMP_") {
		return true
	}
	switch name {
	case "_", "COLUMNS", "DIRSTACK", "EPOCHREALTIME", "EPOCHSECONDS", "EUID", "FUNCNAME",
		"GROUPS", "HISTCMD", "HOSTNAME", "HOSTTYPE", "LINENO", "LINES", "MACHTYPE",
		"OLDPWD", "OPTIND", "OPTARG", "OSTYPE", "PIPESTATUS", "PPID", "PWD", "RANDOM",
		"SECONDS", "SHELLOPTS", "SHLVL", "SRANDOM", "UID":
		return true
	}
	return false
}
