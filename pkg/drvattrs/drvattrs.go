package drvattrs

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Attrs maps attribute names to values: the text Nix put in the
// environment, or compact JSON for structured attributes.
type Attrs map[string]string

// nixVars are the variables Nix sets for every build, whatever the
// derivation says.
var nixVars = []string{
	"HOME", "PATH", "NIX_BUILD_TOP", "NIX_BUILD_CORES", "NIX_LOG_FD", "NIX_STORE",
	"TMPDIR", "TEMPDIR", "TMP", "TEMP", "TERM", "PWD", "SHLVL", "_",
	"NIX_ATTRS_JSON_FILE", "NIX_ATTRS_SH_FILE",
}

// Options say where to read a build's attributes from.
type Options struct {
	// PID is the builder's process, whose initial environment holds the
	// attributes. Read uses it when AttrsJSON is empty.
	PID int
	// AttrsJSON is $NIX_ATTRS_JSON_FILE of a build with structured
	// attributes.
	AttrsJSON string
}

// Read returns the attributes of the running build.
func Read(opts Options) (Attrs, error) {
	if opts.AttrsJSON != "" {
		data, err := os.ReadFile(opts.AttrsJSON)
		if err != nil {
			return nil, fmt.Errorf("read derivation attributes: %w", err)
		}
		return FromJSON(data)
	}
	data, err := environ(opts.PID)
	if err != nil {
		return nil, fmt.Errorf("read derivation attributes from the builder's environment: %w", err)
	}
	return FromEnviron(data)
}

// A Process is what a running process was started with, as the kernel
// keeps it: what the cache needs to start a builder again.
type Process struct {
	// Exe is the program the kernel ran (argv[0] may be a bare name).
	Exe string
	// Cmdline and Environ are the arguments and the initial environment,
	// each string NUL-terminated, as /proc/PID/cmdline and environ hold
	// them.
	Cmdline, Environ []byte
}

// procArgsEnviron returns the environment strings of a darwin
// KERN_PROCARGS2 record, NUL-terminated as /proc/PID/environ holds them.
func procArgsEnviron(rec []byte) ([]byte, error) {
	p, err := procArgs(rec)
	if err != nil {
		return nil, err
	}
	return p.Environ, nil
}

// procArgs reads a darwin KERN_PROCARGS2 record (the layout psutil and
// heim read too). The record (xnu bsd/kern/kern_sysctl.c,
// sysctl_procargsx) is argc as a 32-bit integer in the machine's byte
// order (little-endian on every darwin Nix supports), the executable's
// path, NUL padding, argc argument strings, the environment strings, an
// empty string, and then the kernel's "apple" strings, which are not the
// environment. (An empty first argument would be taken for padding; a
// builder's is its path.)
func procArgs(rec []byte) (*Process, error) {
	if len(rec) < 4 {
		return nil, errors.New("KERN_PROCARGS2 record too short")
	}
	argc := int(binary.LittleEndian.Uint32(rec))
	rest := rec[4:]
	i := bytes.IndexByte(rest, 0) // end of the executable's path
	if i < 0 {
		return nil, errors.New("KERN_PROCARGS2 record: no executable path")
	}
	p := &Process{Exe: string(rest[:i])}
	for i < len(rest) && rest[i] == 0 {
		i++
	}
	rest = rest[i:]
	for n := 0; n < argc; n++ {
		j := bytes.IndexByte(rest, 0)
		if j < 0 {
			return nil, fmt.Errorf("KERN_PROCARGS2 record: %d arguments, %d found", argc, n)
		}
		p.Cmdline = append(p.Cmdline, rest[:j+1]...)
		rest = rest[j+1:]
	}
	for len(rest) > 0 && rest[0] != 0 {
		j := bytes.IndexByte(rest, 0)
		if j < 0 {
			return nil, errors.New("KERN_PROCARGS2 record: unterminated environment string")
		}
		p.Environ = append(p.Environ, rest[:j+1]...)
		rest = rest[j+1:]
	}
	return p, nil
}

// FromEnviron parses a NUL-separated environment, as /proc/PID/environ
// holds it, leaving out the variables Nix sets for every build and
// reading the files of passAsFile attributes.
func FromEnviron(data []byte) (Attrs, error) {
	a := Attrs{}
	for kv := range bytes.SplitSeq(data, []byte{0}) {
		k, v, ok := strings.Cut(string(kv), "=")
		if !ok || k == "" || slices.Contains(nixVars, k) {
			continue
		}
		a[k] = v
	}
	for _, n := range strings.Fields(a["passAsFile"]) {
		p, ok := a[n+"Path"]
		if !ok {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read attribute %s passed as a file: %w", n, err)
		}
		a[n] = string(data)
		delete(a, n+"Path")
	}
	return a, nil
}

// FromJSON parses structured attributes.
func FromJSON(data []byte) (Attrs, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("read structured attributes: %w", err)
	}
	a := Attrs{}
	for k, v := range raw {
		var b bytes.Buffer
		if err := json.Compact(&b, v); err != nil {
			return nil, fmt.Errorf("read structured attribute %s: %w", k, err)
		}
		a[k] = b.String()
	}
	return a, nil
}

// WriteFile stores the attributes as JSON.
func (a Attrs) WriteFile(name string) error {
	data, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return os.WriteFile(name, data, 0o644)
}

// ReadFile reads attributes stored by WriteFile.
func ReadFile(name string) (Attrs, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var a Attrs
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return a, nil
}
