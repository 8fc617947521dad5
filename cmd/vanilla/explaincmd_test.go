package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/nix-vanilla/nix-vanilla/internal/stage"
	"github.com/nix-vanilla/nix-vanilla/pkg/cache"
	"github.com/nix-vanilla/nix-vanilla/pkg/cachekey"
	"github.com/nix-vanilla/nix-vanilla/pkg/checkpoint"
	"github.com/nix-vanilla/nix-vanilla/pkg/drvattrs"
)

func init() {
	// cache-put-attrs DIR SEED POINT ATTRS.json: stores an entry as the
	// hook does, under the key cachekey computes from the attributes in
	// ATTRS.json at POINT, with the attributes recorded in the
	// checkpoint; sets $KEY_SEED to the key and $SHORT_SEED to its first
	// 12 digits, as the log prints it.
	cacheScriptCmds["cache-put-attrs"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 4 {
			ts.Fatalf("usage: cache-put-attrs DIR SEED POINT ATTRS.json")
		}
		c, err := cache.Open(ts.MkAbs(args[0]))
		ts.Check(err)
		attrs, err := drvattrs.ReadFile(ts.MkAbs(args[3]))
		ts.Check(err)
		k, err := cachekey.Compute(attrs, cachekey.Point(args[2]))
		ts.Check(err)
		archive := []byte(args[1])
		asum := sha256.Sum256(archive)
		ts.Check(c.Put(cache.Info{Key: k.Sum, Name: attrs["name"], Point: args[2], Attrs: k.Attrs}, func(dir string) error {
			m, err := json.Marshal(checkpoint.Manifest{Version: checkpoint.Version, Name: attrs["name"],
				Archive: hex.EncodeToString(asum[:]), Stats: checkpoint.Stats{Compressed: int64(len(archive))}})
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, checkpoint.ManifestFile), m, 0o644); err != nil {
				return err
			}
			if err := attrs.WriteFile(filepath.Join(dir, stage.AttrsFile)); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, checkpoint.ArchiveFile), archive, 0o644)
		}))
		ts.Setenv("KEY_"+args[1], k.Sum)
		ts.Setenv("SHORT_"+args[1], k.Sum[:12])
	}
}
