package ninjalog

import (
	"fmt"
	"os"
	"path/filepath"
)

// These files are a port of the parts of ninja 1.11.1 that turn a manifest
// into evaluated edges: the lexer (src/lexer.in.cc), the manifest parser
// (src/manifest_parser.cc), variable scopes (src/eval_env.cc), the edge
// environment with $in, $in_newline and $out (EdgeEnv in src/graph.cc),
// CanonicalizePath and GetShellEscapedString (src/util.cc). It only
// evaluates what the build log hash depends on; pools, defaults, dyndep
// and validations are parsed and otherwise ignored.
//
// The port is split as ninja's sources are: lexer.go (src/lexer.in.cc),
// parser.go (src/manifest_parser.cc) and eval.go (src/eval_env.cc, EdgeEnv
// in src/graph.cc, src/util.cc); this file holds the loaded manifest.

// manifest is a loaded build.ninja with everything it includes.
type manifest struct {
	// readFile reads a manifest file named as in the manifest; it is
	// os.ReadFile relative to the build directory except in tests.
	readFile func(name string) ([]byte, error)
	root     *scope
	edges    []*edge
	outputs  map[string]*edge
}

// loadManifest parses dir/build.ninja; include and subninja paths are
// relative to dir, as for ninja -C dir.
func loadManifest(dir, name string) (*manifest, error) {
	return parseManifest(name, func(name string) ([]byte, error) {
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, name)
		}
		return os.ReadFile(name)
	})
}

// parseManifest parses the manifest file name, reading it and the files
// it includes with readFile.
func parseManifest(name string, readFile func(string) ([]byte, error)) (*manifest, error) {
	m := &manifest{readFile: readFile, root: newScope(nil), outputs: make(map[string]*edge)}
	m.root.rules["phony"] = &rule{name: "phony", phony: true}
	if err := m.load(name, m.root, nil, 0); err != nil {
		return nil, err
	}
	return m, nil
}

// maxIncludeDepth bounds include and subninja nesting, which ninja does
// not (a file including itself overflows its stack).
const maxIncludeDepth = 100

func (m *manifest) load(name string, sc *scope, from *lexer, depth int) error {
	if depth > maxIncludeDepth {
		return from.errorf("include/subninja nested more than %d deep", maxIncludeDepth)
	}
	data, err := m.readFile(name)
	if err != nil {
		err = fmt.Errorf("loading '%s': %w", name, err)
		if from != nil {
			return from.errorf("%v", err)
		}
		return err
	}
	p := &parser{m: m, sc: sc, lx: newLexer(name, data), depth: depth}
	return p.parse()
}
