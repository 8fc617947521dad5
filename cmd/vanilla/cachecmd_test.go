package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nix-vanilla/nix-vanilla/pkg/cache"
	"github.com/nix-vanilla/nix-vanilla/pkg/checkpoint"
	"github.com/rogpeppe/go-internal/testscript"
)

// cacheScriptCmds are script commands that build cache entries for the
// cache_*.txtar scripts (the helper itself has no command that stores
// entries outside a build).
var cacheScriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// cache-put DIR SEED NAME POINT SIZE [HITS]: stores an entry with an
	// archive of SIZE bytes under the key sha256(SEED), used HITS times,
	// and sets $KEY_SEED to the key.
	"cache-put": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) < 5 {
			ts.Fatalf("usage: cache-put DIR SEED NAME POINT SIZE [HITS]")
		}
		c, err := cache.Open(ts.MkAbs(args[0]))
		ts.Check(err)
		sum := sha256.Sum256([]byte(args[1]))
		key := hex.EncodeToString(sum[:])
		size, err := strconv.Atoi(args[4])
		ts.Check(err)
		archive := []byte(strings.Repeat(args[1], size)[:size])
		asum := sha256.Sum256(archive)
		ts.Check(c.Put(cache.Info{Key: key, Name: args[2], Point: args[3], Attrs: map[string]string{"src": "00"}}, func(dir string) error {
			m, err := json.Marshal(checkpoint.Manifest{Version: checkpoint.Version, Name: args[2],
				Archive: hex.EncodeToString(asum[:]), Stats: checkpoint.Stats{Compressed: int64(size)}})
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, checkpoint.ManifestFile), m, 0o644); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, checkpoint.ArchiveFile), archive, 0o644)
		}))
		if len(args) > 5 {
			hits, err := strconv.Atoi(args[5])
			ts.Check(err)
			for range hits {
				ts.Check(c.Used(key))
			}
		}
		ts.Setenv("KEY_"+args[1], key)
	},
	// cache-flip FILE OFFSET: flips a bit of a byte of FILE in place.
	"cache-flip": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 2 {
			ts.Fatalf("usage: cache-flip FILE OFFSET")
		}
		data, err := os.ReadFile(ts.MkAbs(args[0]))
		ts.Check(err)
		off, err := strconv.Atoi(args[1])
		ts.Check(err)
		data[off] ^= 1
		ts.Check(os.WriteFile(ts.MkAbs(args[0]), data, 0o644))
	},
	// cache-record DIR KIND [REASON]: appends an event to stats.log.
	"cache-record": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) < 2 {
			ts.Fatalf("usage: cache-record DIR KIND [BYTES [REASON]]")
		}
		c, err := cache.Open(ts.MkAbs(args[0]))
		ts.Check(err)
		ev := cache.Event{Kind: args[1]}
		if len(args) > 2 {
			ev.Bytes, err = strconv.ParseInt(args[2], 10, 64)
			ts.Check(err)
		}
		if len(args) > 3 {
			ev.Reason = strings.Join(args[3:], " ")
		}
		ts.Check(c.Record(ev))
	},
}
