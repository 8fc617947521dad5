package cache

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func keysOf(infos []Info) []string {
	var ks []string
	for _, in := range infos {
		ks = append(ks, in.Key[:4])
	}
	return ks
}

// TestGC stores four entries used at different times and checks that GC
// removes the least recently used first, skipping one in use.
func TestGC(t *testing.T) {
	c := newCache(t)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cur := clock(t, t0)
	ks := []string{key("a"), key("b"), key("c"), key("d")}
	for _, k := range ks {
		put(t, c, k, 10000)
		*cur = cur.Add(time.Minute)
	}
	// Use a after the others: b is now the least recently used.
	if err := c.Used(ks[0]); err != nil {
		t.Fatal(err)
	}
	infos, _, _ := c.List()
	if got, want := keysOf(infos), []string{ks[0][:4], ks[3][:4], ks[2][:4], ks[1][:4]}; !slices.Equal(got, want) {
		t.Fatalf("List order %v, want %v (most recent first)", got, want)
	}
	if infos[0].Hits != 1 || !infos[0].LastUsed.Equal(*cur) {
		t.Errorf("after Used: %+v", infos[0])
	}
	// c is in use: GC must skip it.
	e, err := c.Get(ks[2])
	if err != nil {
		t.Fatal(err)
	}
	size := infos[0].Size
	removed, err := c.GC(2*size + 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keysOf(removed), []string{ks[1][:4], ks[3][:4]}; !slices.Equal(got, want) {
		t.Errorf("GC removed %v, want %v (b, then d, skipping c in use)", got, want)
	}
	if err := c.Remove(ks[2]); !errors.Is(err, ErrBusy) {
		t.Errorf("Remove of an entry in use: %v, want ErrBusy", err)
	}
	e.Close()
	if err := c.Remove(ks[2]); err != nil {
		t.Errorf("Remove: %v", err)
	}
	if err := c.Remove(ks[2]); !errors.Is(err, ErrNotFound) {
		t.Errorf("Remove again: %v, want ErrNotFound", err)
	}
	infos, _, _ = c.List()
	if got := keysOf(infos); !slices.Equal(got, []string{ks[0][:4]}) {
		t.Errorf("left %v, want a", got)
	}
}

// TestGCStale: GC removes temporary directories of dead writers once
// they are an hour old, never one whose Put is alive (holds its lock).
func TestGCStale(t *testing.T) {
	c := newCache(t)
	dead := filepath.Join(c.path(TmpDir), "put-dead")
	alive := filepath.Join(c.path(TmpDir), "put-alive")
	for _, d := range []string{dead, alive} {
		os.Mkdir(d, 0o755)
		os.WriteFile(filepath.Join(d, LockFile), nil, 0o644)
	}
	os.WriteFile(filepath.Join(c.path(TmpDir), ".use.json123"), nil, 0o644)
	lock, err := os.Open(filepath.Join(alive, LockFile))
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GC(0); err != nil {
		t.Fatal(err)
	}
	if got := dirNames(t, c, TmpDir); len(got) != 3 {
		t.Errorf("GC removed young temporary files: left %q", got)
	}
	clock(t, time.Now().Add(61*time.Minute))
	if _, err := c.GC(0); err != nil {
		t.Fatal(err)
	}
	if got := dirNames(t, c, TmpDir); !slices.Equal(got, []string{"put-alive"}) {
		t.Errorf("left %q, want put-alive", got)
	}
}

// TestSizeLimit: Put enforces the max-size file after storing, and
// keeps the entry it stored.
func TestSizeLimit(t *testing.T) {
	c := newCache(t)
	cur := clock(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err := c.SetMaxSize(25 << 10); err != nil {
		t.Fatal(err)
	}
	if n, err := c.MaxSize(); err != nil || n != 25<<10 {
		t.Fatalf("MaxSize = %d, %v", n, err)
	}
	for i := range 5 {
		put(t, c, key(string(rune('a'+i))), 10<<10)
		*cur = cur.Add(time.Second)
		infos, _, _ := c.List()
		var total int64
		for _, in := range infos {
			total += in.Size
		}
		if total > 25<<10 || infos[0].Key != key(string(rune('a'+i))) {
			t.Fatalf("after Put %d: %d bytes in %v", i, total, keysOf(infos))
		}
	}
	infos, _, _ := c.List()
	if got, want := keysOf(infos), []string{key("e")[:4], key("d")[:4]}; !slices.Equal(got, want) {
		t.Errorf("kept %v, want the two newest %v", got, want)
	}
	// One larger than the limit is kept until the next Put.
	put(t, c, key("big"), 30<<10)
	if _, err := os.Stat(c.entryDir(key("big"))); err != nil {
		t.Errorf("the entry Put stored is gone: %v", err)
	}
	os.WriteFile(c.path(MaxSizeFile), []byte("lots\n"), 0o644)
	if err := c.Put(info(key("f")), fill(key("f"), 100)); err == nil || !strings.Contains(err.Error(), "stored, but") {
		t.Errorf("Put with a garbage max-size: %v", err)
	}
	if err := c.SetMaxSize(0); err != nil {
		t.Fatal(err)
	}
	if n, err := c.MaxSize(); n != 0 || err != nil {
		t.Errorf("MaxSize after SetMaxSize(0) = %d, %v", n, err)
	}
}

func TestNearest(t *testing.T) {
	c := newCache(t)
	add := func(s string, name string, attrs map[string]string) {
		t.Helper()
		if err := c.Put(Info{Key: key(s), Name: name, Point: "build", Attrs: attrs}, fill(key(s), 10)); err != nil {
			t.Fatal(err)
		}
	}
	add("1", "hello-2.12", map[string]string{"src": "aa", "patches": "bb", "configureFlags": "cc"})
	add("2", "hello-2.12", map[string]string{"src": "aa", "patches": "b0", "buildInputs": "dd"})
	add("3", "other-1.0", map[string]string{"src": "aa", "patches": "bb", "configureFlags": "cc", "x": "ee"})
	for _, tc := range []struct {
		attrs map[string]string
		key   string
		diff  []string
	}{
		{map[string]string{"src": "aa", "patches": "bb", "configureFlags": "c0"}, key("1"), []string{"configureFlags"}},
		{map[string]string{"src": "aa", "patches": "b0"}, key("2"), []string{"buildInputs"}},
		{map[string]string{"src": "ff", "patches": "bb", "configureFlags": "cc", "x": "ee"}, key("1"), []string{"src", "x"}},
	} {
		in, d, err := c.Nearest("hello-2.12", "build", tc.attrs)
		if err != nil || in == nil || in.Key != tc.key || !slices.Equal(d, tc.diff) {
			t.Errorf("Nearest(%v) = %v, %q, %v; want %s, %q", tc.attrs, in, d, err, tc.key[:4], tc.diff)
		}
	}
	if in, _, err := c.Nearest("hello-2.12", "install", nil); in != nil || err != nil {
		t.Errorf("Nearest of another point = %v, %v; want none", in, err)
	}
}

func TestStats(t *testing.T) {
	c := newCache(t)
	if s, err := c.Stats(); err != nil || s.Hits+s.Misses+s.Saves != 0 {
		t.Fatalf("Stats of a new cache = %+v, %v", s, err)
	}
	for _, ev := range []Event{
		{Kind: Save, Bytes: 1000}, {Kind: Miss, Reason: "no entry"}, {Kind: Hit, Bytes: 300},
		{Kind: Miss, Reason: "damaged", Key: strings.Repeat("k", 5000)}, {Kind: Miss, Reason: "no entry"}, {Kind: Hit, Bytes: 200, Name: strings.Repeat("x", 10000)},
	} {
		if err := c.Record(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Record(Event{Kind: "party"}); err == nil {
		t.Error("Record of an unknown kind succeeded")
	}
	// Garbage: a torn line, a huge line, a line of another kind.
	f, _ := os.OpenFile(c.path(StatsFile), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"kind":"hit","bytes":` + "\n" + strings.Repeat("y", 10000) + "\n" + `{"kind":"bogus"}` + "\n" + `{"kind":"hit","bytes":-5}` + "\n")
	f.Close()
	if err := c.Record(Event{Kind: Hit, Bytes: 1}); err != nil {
		t.Fatal(err)
	}
	s, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Hits: 3, Misses: 3, Saves: 1, MissReasons: map[string]int{"no entry": 2, "damaged": 1}, BytesRestored: 501, BytesSaved: 1000, Garbage: 4}
	if s.Hits != want.Hits || s.Misses != want.Misses || s.Saves != want.Saves || s.BytesRestored != want.BytesRestored ||
		s.BytesSaved != want.BytesSaved || s.Garbage != want.Garbage || len(s.MissReasons) != 2 || s.MissReasons["no entry"] != 2 {
		t.Errorf("Stats = %+v\nwant %+v", s, want)
	}
	data, _ := os.ReadFile(c.path(StatsFile))
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "{") && len(line) >= maxEvent && !strings.HasPrefix(line, `{"kind"`) {
			t.Errorf("a line of %d bytes", len(line))
		}
	}
}

// TestGCWorkDir: a build's work directory outlives an hour (a long
// build), not a week.
func TestGCWorkDir(t *testing.T) {
	c := newCache(t)
	cur := clock(t, time.Now())
	w, err := c.WorkDir()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(w, c.path(TmpDir)+"/") {
		t.Fatalf("WorkDir %s is not in the cache's tmp/", w)
	}
	for _, after := range []time.Duration{2 * time.Hour, 8 * 24 * time.Hour} {
		*cur = time.Now().Add(after)
		if _, err := c.GC(0); err != nil {
			t.Fatal(err)
		}
		_, err := os.Stat(w)
		if gone := err != nil; gone != (after > workAge) {
			t.Errorf("after %s: work directory removed = %v", after, gone)
		}
	}
}
