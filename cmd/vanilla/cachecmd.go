package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nix-vanilla/nix-vanilla/pkg/cache"
)

// cacheCommands are the user's `vanilla cache` subcommands.
var cacheCommands = map[string]func(context.Context, []string, io.Writer) error{
	"ls":     cacheLs,
	"stats":  cacheStats,
	"verify": cacheVerify,
	"gc":     cacheGC,
	"rm":     cacheRm,
}

// cacheCommand runs `vanilla cache SUBCOMMAND`: the user's commands (ls,
// stats, verify, gc, rm) and the hook's (cacheHookCommands).
func cacheCommand(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{fmt.Errorf("missing subcommand: ls, stats, verify, gc or rm")}
	}
	if cmd, ok := cacheHookCommands[args[0]]; ok {
		return cmd(ctx, args[1:], stdout)
	}
	if cmd, ok := cacheCommands[args[0]]; ok {
		return cmd(ctx, args[1:], stdout)
	}
	return usageError{fmt.Errorf("unknown subcommand %q: expected ls, stats, verify, gc or rm", args[0])}
}

// cacheFlags are the flags every user subcommand takes.
type cacheFlags struct {
	fs   *flag.FlagSet
	dir  *string
	json *bool
}

func newCacheFlags(name string, withJSON bool) *cacheFlags {
	fs := flag.NewFlagSet("cache "+name, flag.ContinueOnError)
	f := &cacheFlags{fs: fs, json: new(bool)}
	f.dir = fs.String("dir", "", "the cache directory (default $VANILLA_CACHE_DIR, else "+cache.DefaultDir+")")
	if withJSON {
		fs.BoolVar(f.json, "json", false, "print JSON")
	}
	return f
}

// parse parses the flags, allowing positional arguments if args is set,
// and opens the cache; -h prints the flags to stdout.
func (f *cacheFlags) parse(argv []string, args bool, stdout io.Writer) (*cache.Cache, error) {
	f.fs.SetOutput(io.Discard)
	if err := f.fs.Parse(argv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			f.fs.SetOutput(stdout)
			f.fs.PrintDefaults()
			return nil, err
		}
		return nil, usageError{err}
	}
	if !args && f.fs.NArg() > 0 {
		return nil, usageError{fmt.Errorf("unexpected argument %q", f.fs.Arg(0))}
	}
	return cache.Open(cache.Dir(*f.dir))
}

// cacheAdvice says how to fix a cache directory that cannot be used.
func cacheAdvice(err error) string {
	var u *cache.UnavailableError
	if !errors.As(err, &u) {
		return ""
	}
	d := shellQuote(u.Dir)
	create := fmt.Sprintf("sudo mkdir -p %s && sudo chgrp nixbld %s && sudo chmod 2775 %s", d, d, d)
	other := "or name another directory with --dir or $VANILLA_CACHE_DIR"
	switch u.Reason {
	case cache.Missing:
		return "create it: " + create + " (" + other + ")"
	case cache.NotDir:
		return u.Dir + " is not a directory: " + other
	case cache.NotWritable:
		return fmt.Sprintf("let builds write it: sudo chgrp nixbld %s && sudo chmod 2775 %s", d, d)
	case cache.Foreign:
		return "it holds files that are not the cache's; " + other + ", or start from an empty one: " + create
	case cache.OtherFormat:
		return "another version of nix-vanilla wrote it; empty it (sudo rm -rf " + d + " && " + create + ") " + other
	}
	return ""
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// printable quotes a name read from the cache (untrusted) unless it is
// plain text.
func printable(s string) string {
	q := strconv.Quote(s)
	if q[1:len(q)-1] == s {
		return s
	}
	return q
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func cacheLs(_ context.Context, args []string, stdout io.Writer) error {
	f := newCacheFlags("ls", true)
	c, err := f.parse(args, false, stdout)
	if err != nil {
		return err
	}
	infos, damaged, err := c.List()
	if err != nil {
		return err
	}
	if *f.json {
		if infos == nil {
			infos = []cache.Info{}
		}
		return writeJSON(stdout, struct {
			Entries []cache.Info    `json:"entries"`
			Damaged []damagedRecord `json:"damaged"`
		}{infos, damagedRecords(damaged)})
	}
	t := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(t, "NAME\tPOINT\tSIZE\tAGE\tLAST USE\tHITS\tKEY")
	for _, in := range infos { // most recently used first
		fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", printable(in.Name), in.Point, humanSize(in.Size),
			ago(in.Created), ago(in.LastUsed), in.Hits, in.Key[:12])
	}
	if err := t.Flush(); err != nil {
		return err
	}
	for _, d := range damaged {
		fmt.Fprintf(stdout, "damaged: %s: %s\n", printable(d.Key), d.Reason)
	}
	if len(damaged) > 0 {
		fmt.Fprintln(stdout, "run 'vanilla cache verify --remove' to remove damaged entries")
	}
	return nil
}

type damagedRecord struct {
	Key    string `json:"key"`
	Reason string `json:"reason"`
}

func damagedRecords(ds []*cache.DamagedError) []damagedRecord {
	rs := []damagedRecord{}
	for _, d := range ds {
		rs = append(rs, damagedRecord{d.Key, d.Reason})
	}
	return rs
}

// humanSize formats bytes in binary units: "12.3 MiB".
func humanSize(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/1024, 0
	for ; v >= 1024 && i < 5; i++ {
		v /= 1024
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTPE"[i])
}

// ago formats the time since t: "now", "5m", "3h", "2d".
func ago(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "now"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func cacheStats(_ context.Context, args []string, stdout io.Writer) error {
	f := newCacheFlags("stats", true)
	c, err := f.parse(args, false, stdout)
	if err != nil {
		return err
	}
	s, err := c.Stats()
	if err != nil {
		return err
	}
	infos, damaged, err := c.List()
	if err != nil {
		return err
	}
	max, err := c.MaxSize()
	if err != nil {
		return err
	}
	var total int64
	for _, in := range infos {
		total += in.Size
	}
	if *f.json {
		return writeJSON(stdout, map[string]any{
			"dir": c.Path(), "hits": s.Hits, "misses": s.Misses, "missReasons": s.MissReasons, "saves": s.Saves,
			"bytesRestored": s.BytesRestored, "bytesSaved": s.BytesSaved, "garbageLines": s.Garbage,
			"entries": len(infos), "damaged": len(damaged), "size": total, "maxSize": max,
		})
	}
	t := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(t, "cache directory\t%s\n", c.Path())
	fmt.Fprintf(t, "hits\t%d\n", s.Hits)
	fmt.Fprintf(t, "misses\t%d\n", s.Misses)
	for _, r := range slices.Sorted(maps.Keys(s.MissReasons)) {
		fmt.Fprintf(t, "  %s\t%d\n", printable(r), s.MissReasons[r])
	}
	rate := "-"
	if n := s.Hits + s.Misses; n > 0 {
		rate = fmt.Sprintf("%.1f %%", 100*float64(s.Hits)/float64(n))
	}
	fmt.Fprintf(t, "hit rate\t%s\n", rate)
	fmt.Fprintf(t, "saves\t%d\n", s.Saves)
	fmt.Fprintf(t, "bytes restored\t%s\n", humanSize(s.BytesRestored))
	fmt.Fprintf(t, "bytes saved\t%s\n", humanSize(s.BytesSaved))
	fmt.Fprintf(t, "entries\t%d\n", len(infos))
	if len(damaged) > 0 {
		fmt.Fprintf(t, "damaged entries\t%d\n", len(damaged))
	}
	fmt.Fprintf(t, "total size\t%s\n", humanSize(total))
	limit := "unlimited"
	if max > 0 {
		limit = humanSize(max)
	}
	fmt.Fprintf(t, "max size\t%s\n", limit)
	if s.Garbage > 0 {
		fmt.Fprintf(t, "unreadable log lines\t%d\n", s.Garbage)
	}
	return t.Flush()
}

type verifyRecord struct {
	Key     string `json:"key"`
	Name    string `json:"name,omitempty"`
	OK      bool   `json:"ok"`
	Reason  string `json:"reason,omitempty"`
	Removed bool   `json:"removed,omitempty"`
}

func cacheVerify(_ context.Context, args []string, stdout io.Writer) error {
	f := newCacheFlags("verify", true)
	remove := f.fs.Bool("remove", false, "remove the damaged entries")
	c, err := f.parse(args, false, stdout)
	if err != nil {
		return err
	}
	infos, damaged, err := c.List()
	if err != nil {
		return err
	}
	var recs []verifyRecord
	for _, d := range damaged {
		recs = append(recs, verifyRecord{Key: d.Key, Reason: d.Reason})
	}
	for _, in := range infos {
		r := verifyRecord{Key: in.Key, Name: in.Name, OK: true}
		var d *cache.DamagedError
		if err := c.Verify(in.Key); errors.As(err, &d) {
			r.OK, r.Reason = false, d.Reason
		} else if errors.Is(err, cache.ErrNotFound) {
			continue // removed meanwhile
		} else if err != nil {
			return err
		}
		recs = append(recs, r)
	}
	bad := 0
	for i, r := range recs {
		if r.OK {
			continue
		}
		bad++
		if *remove && cache.ValidKey(r.Key) {
			if err := c.Remove(r.Key); err != nil && !errors.Is(err, cache.ErrNotFound) {
				return err
			}
			recs[i].Removed = true
		}
	}
	if *f.json {
		if recs == nil {
			recs = []verifyRecord{}
		}
		if err := writeJSON(stdout, recs); err != nil {
			return err
		}
	} else {
		for _, r := range recs {
			if !r.OK {
				fmt.Fprintf(stdout, "damaged %s %s: %s\n", printable(short(r.Key)), printable(r.Name), r.Reason)
				if r.Removed {
					fmt.Fprintf(stdout, "removed %s\n", printable(short(r.Key)))
				}
			}
		}
		fmt.Fprintf(stdout, "verified %s: %d damaged\n", entries(len(recs)), bad)
	}
	if bad > 0 && !*remove {
		return fmt.Errorf("%d damaged cache entries; remove them with 'vanilla cache verify --remove'", bad)
	}
	if bad > 0 {
		return fmt.Errorf("%d damaged cache entries (removed)", bad)
	}
	return nil
}

func entries(n int) string {
	if n == 1 {
		return "1 entry"
	}
	return fmt.Sprintf("%d entries", n)
}

func short(key string) string {
	if len(key) > 12 && cache.ValidKey(key) {
		return key[:12]
	}
	return key
}

func cacheGC(_ context.Context, args []string, stdout io.Writer) error {
	f := newCacheFlags("gc", false)
	maxFlag := f.fs.String("max-size", "", "remove least recently used entries down to this size (e.g. 10G; default: the cache's max-size file)")
	c, err := f.parse(args, false, stdout)
	if err != nil {
		return err
	}
	max, err := c.MaxSize()
	if *maxFlag != "" {
		max, err = cache.ParseSize(*maxFlag)
		if err != nil {
			return usageError{fmt.Errorf("--max-size: %w", err)}
		}
	}
	if err != nil {
		return err
	}
	removed, err := c.GC(max)
	for _, in := range removed {
		if in.Name == "" {
			fmt.Fprintf(stdout, "removed damaged entry %s\n", short(in.Key))
			continue
		}
		fmt.Fprintf(stdout, "removed %s %s %s (%s), last used %s\n", short(in.Key), printable(in.Name), in.Point, humanSize(in.Size), ago(in.LastUsed))
	}
	if err != nil {
		return err
	}
	infos, _, err := c.List()
	if err != nil {
		return err
	}
	var total int64
	for _, in := range infos {
		total += in.Size
	}
	limit := "no size limit"
	if max > 0 {
		limit = "limit " + humanSize(max)
	}
	fmt.Fprintf(stdout, "removed %s; %d left, %s (%s)\n", entries(len(removed)), len(infos), humanSize(total), limit)
	return nil
}

func cacheRm(_ context.Context, args []string, stdout io.Writer) error {
	f := newCacheFlags("rm", false)
	c, err := f.parse(args, true, stdout)
	if err != nil {
		return err
	}
	if f.fs.NArg() == 0 {
		return usageError{errors.New("missing KEY: a key or a prefix of 8 or more of its digits (see 'vanilla cache ls')")}
	}
	infos, damaged, err := c.List()
	if err != nil {
		return err
	}
	keys := map[string]string{} // key -> name
	for _, in := range infos {
		keys[in.Key] = in.Name
	}
	for _, d := range damaged {
		if cache.ValidKey(d.Key) {
			keys[d.Key] = "(damaged)"
		}
	}
	var errs []error
	for _, arg := range f.fs.Args() {
		k, err := resolveKey(arg, keys)
		if err == nil {
			err = c.Remove(k)
		}
		if errors.Is(err, cache.ErrBusy) {
			err = fmt.Errorf("%s is in use by a build; try again when it ends", short(k))
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(stdout, "removed %s %s\n", short(k), printable(keys[k]))
	}
	return errors.Join(errs...)
}

// resolveKey finds the key that arg names: the whole key or a unique
// prefix of 8 or more digits.
func resolveKey(arg string, keys map[string]string) (string, error) {
	if len(arg) < 8 || len(arg) > 64 || strings.Trim(arg, "0123456789abcdef") != "" {
		return "", fmt.Errorf("%q is not a cache key: give a key or at least its first 8 hex digits (see 'vanilla cache ls')", arg)
	}
	var found []string
	for k := range keys {
		if strings.HasPrefix(k, arg) {
			found = append(found, k)
		}
	}
	slices.Sort(found)
	switch len(found) {
	case 0:
		return "", fmt.Errorf("no cache entry %s", arg)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%s is ambiguous: it starts %d keys (%s); give more digits", arg, len(found), strings.Join(found, ", "))
}
