package nixpkgseval

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
)

// Parts of a record, as probe.nix names them.
const (
	PartPlain    = "plain"
	PartOverlaid = "overlaid"
	PartFlag     = "flag"
)

var allParts = []string{PartPlain, PartOverlaid, PartFlag}

// Drvs is what one package set makes of an attribute: the output it selects
// and the derivation of each of its outputs. Throws is set instead when
// evaluating it throws an error that builtins.tryEval catches.
type Drvs struct {
	OutputName string            `json:"outputName"`
	Drvs       map[string]string `json:"drvs"`
	Throws     bool              `json:"throws"`
}

// Stages is what `overrideAttrs { vanillaPackage = true; … }` made of a
// package: the three stages' derivations when it is split, or the reason
// the overlay gave for not splitting it.
type Stages struct {
	Name       string `json:"name"`
	OutputName string `json:"outputName"`
	Unsplit    string `json:"unsplit"`
	Split      bool   `json:"split"`
	Final      string `json:"final"`
	Vanilla    string `json:"vanilla"`
	Unwrapped  string `json:"unwrapped"`
	// Differ names the early attributes a stdenv adapter sets
	// (configureFlags, NIX_CFLAGS_LINK, …) whose value in a stage is not
	// the final's.
	Differ []string `json:"differ"`
	Throws bool     `json:"throws"`
}

// Flag holds the package with the flag set, then with a postFixup change
// and with a postInstall change on top of the flag.
type Flag struct {
	Flagged Stages `json:"flagged"`
	Fixup   Stages `json:"fixup"`
	Install Stages `json:"install"`
}

// Record is one attribute's result. A nil field means "not asked for",
// "not evaluated" (after a crash) or "not a derivation" (for Flag: not a
// package with overrideAttrs). Crashed maps the part whose evaluation
// failed with an error tryEval cannot catch to the error's first line;
// the parts after it are not evaluated.
type Record struct {
	Name     string `json:"name"`
	Plain    *Drvs  `json:"plain"`
	Overlaid *Drvs  `json:"overlaid"`
	Flag     *Flag  `json:"flag"`
	Crashed  map[string]string
	// Warnings are the trace lines printed while this attribute was
	// evaluated (lib.warn's "warning: …" among them).
	Warnings []string
}

// Probe evaluates attributes of one package set with probe.nix.
type Probe struct {
	// Overlay is the path of nix/overlay.nix.
	Overlay string
	// Set is the attribute path of the package set ("pkgsStatic"), empty
	// for the top level.
	Set []string
	// Variant, when set, overrides every package's stdenv (see probe.nix).
	Variant string
	// Parts to evaluate; all when empty.
	Parts []string
	// Env is the environment of nix-instantiate (NIX_CONFIG among it).
	Env []string
	// Workers is how many nix-instantiate processes run at once.
	Workers int
	// Logf, when set, is told of every process that ends in a crash.
	Logf func(format string, args ...any)

	processes atomic.Int64
}

// Processes returns how many nix-instantiate processes Run started.
func (p *Probe) Processes() int64 { return p.processes.Load() }

// probeFile is probe.nix's absolute path.
func probeFile() (string, error) {
	return filepath.Abs("probe.nix")
}

// chunkSize is how many names one process is given at a time: small
// enough that the workers stay busy to the end, large enough that
// starting processes costs little next to evaluating.
const chunkSize = 64

// Run evaluates every name and returns one record per name, in order.
// Workers processes take chunks of names in turn; an attribute that
// crashes its evaluation ends its process, and its record says in which
// part.
func (p *Probe) Run(ctx context.Context, names []string) ([]Record, error) {
	var chunks [][]string
	for lo := 0; lo < len(names); lo += chunkSize {
		chunks = append(chunks, names[lo:min(lo+chunkSize, len(names))])
	}
	results := make([][]Record, len(chunks))
	errs := make([]error, len(chunks))
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(p.Workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i], errs[i] = p.runAll(ctx, chunks[i])
			}
		}()
	}
	for i := range chunks {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var all []Record
	for _, r := range results {
		all = append(all, r...)
	}
	return all, nil
}

// runAll evaluates names in one process, and after each crash goes on in
// a new one from the next name.
func (p *Probe) runAll(ctx context.Context, names []string) ([]Record, error) {
	var records []Record
	for len(names) > 0 {
		s, err := p.stream(ctx, names)
		if err != nil {
			return nil, err
		}
		records = append(records, s.records...)
		if s.crashed == nil {
			if len(s.records) != len(names) {
				return nil, fmt.Errorf("probe.nix: %d of %d records printed:\n%s", len(s.records), len(names), s.errText)
			}
			break
		}
		if p.Logf != nil {
			p.Logf("%s crashed the evaluation (%v)", s.crashed.Name, s.crashed.Crashed)
		}
		records = append(records, *s.crashed)
		names = names[len(s.records)+1:]
	}
	return records, nil
}

func (p *Probe) parts() []string {
	if len(p.Parts) == 0 {
		return allParts
	}
	return p.Parts
}

// streamResult is what one nix-instantiate printed.
type streamResult struct {
	records []Record
	// crashed is the record of the attribute being evaluated when the
	// process failed, with the part it failed in; errText is what the
	// process printed after the last record.
	crashed *Record
	errText string
}

func (p *Probe) stream(ctx context.Context, names []string) (*streamResult, error) {
	file, err := probeFile()
	if err != nil {
		return nil, err
	}
	parts := p.parts()
	args := []string{
		"--eval", "--read-write-mode", file,
		"--arg", "overlay", p.Overlay,
		"--arg", "names", nixList(names),
		"--arg", "set", nixList(p.Set),
		"--arg", "parts", nixList(parts),
	}
	if p.Variant != "" {
		args = append(args, "--argstr", "variant", p.Variant)
	}
	p.processes.Add(1)
	cmd := exec.CommandContext(ctx, "nix-instantiate", args...)
	cmd.Env = p.Env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	runErr := cmd.Run()
	var exit *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exit) {
		return nil, fmt.Errorf("nix-instantiate probe.nix: %w", runErr)
	}
	s, err := parseStream(stderr.Bytes(), parts)
	if err != nil {
		return nil, err
	}
	switch {
	case runErr == nil && s.crashed != nil:
		return nil, fmt.Errorf("probe.nix: %s started and never finished, yet nix-instantiate succeeded", s.crashed.Name)
	case runErr != nil && s.crashed == nil:
		return nil, fmt.Errorf("probe.nix failed outside any attribute: %w\n%s", runErr, s.errText)
	}
	return s, nil
}

const (
	startMark = "trace: nixpkgseval-start "
	partMark  = "trace: nixpkgseval-part "
	doneMark  = "trace: nixpkgseval-done "
)

// parseStream reads probe.nix's trace lines: a start line, the attribute's
// own trace lines (warnings) and one line per part (in the order of
// parts), a done line. Text after a start line without its done line is
// the error that ended the process, in the part after the last one
// printed.
func parseStream(stderr []byte, parts []string) (*streamResult, error) {
	s := &streamResult{}
	var cur *Record
	var done int // parts of cur printed
	var rest []string
	sc := bufio.NewScanner(bytes.NewReader(stderr))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, startMark):
			cur, done, rest = &Record{Name: strings.TrimPrefix(line, startMark)}, 0, nil
		case cur != nil && strings.HasPrefix(line, partMark):
			part, data, _ := strings.Cut(strings.TrimPrefix(line, partMark), " ")
			if done >= len(parts) || part != parts[done] {
				return nil, fmt.Errorf("probe.nix printed part %q of %s out of order", part, cur.Name)
			}
			if err := cur.setPart(part, []byte(data)); err != nil {
				return nil, err
			}
			done++
		case cur != nil && strings.HasPrefix(line, doneMark):
			if name := strings.TrimPrefix(line, doneMark); name != cur.Name || done != len(parts) {
				return nil, fmt.Errorf("probe.nix finished %s with %d of %d parts while %s was being evaluated", name, done, len(parts), cur.Name)
			}
			s.records = append(s.records, *cur)
			cur, rest = nil, nil
		case cur != nil && strings.HasPrefix(line, "trace: "):
			cur.Warnings = append(cur.Warnings, strings.TrimPrefix(line, "trace: "))
		default:
			rest = append(rest, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	s.errText = strings.Join(rest, "\n")
	if cur != nil {
		if done >= len(parts) {
			return nil, fmt.Errorf("probe.nix: %s failed after its last part:\n%s", cur.Name, s.errText)
		}
		cur.Crashed = map[string]string{parts[done]: firstLine(rest)}
		s.crashed = cur
	}
	return s, nil
}

func firstLine(lines []string) string {
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return "(no message)"
}

// setPart decodes one part's JSON into the record.
func (r *Record) setPart(part string, data []byte) error {
	var dst any
	switch part {
	case PartPlain:
		dst = &r.Plain
	case PartOverlaid:
		dst = &r.Overlaid
	case PartFlag:
		dst = &r.Flag
	default:
		return fmt.Errorf("probe.nix printed an unknown part %q of %s", part, r.Name)
	}
	if err := json.Unmarshal(data, dst); err != nil {
		return fmt.Errorf("probe.nix part %s of %s: %w", part, r.Name, err)
	}
	return nil
}

// nixList renders strings as a Nix list literal.
func nixList(items []string) string {
	var b strings.Builder
	b.WriteString("[")
	for _, it := range items {
		q, _ := json.Marshal(it) // a JSON string is a valid Nix string here: no "${"
		b.WriteString(" ")
		b.Write(bytes.ReplaceAll(q, []byte("${"), []byte(`\${`)))
	}
	b.WriteString(" ]")
	return b.String()
}

// TopLevelNames returns the attribute names of `import <nixpkgs> { }`.
func TopLevelNames(ctx context.Context, env []string) ([]string, error) {
	cmd := exec.CommandContext(ctx, "nix-instantiate", "--eval", "--read-write-mode", "--strict", "--json",
		"-E", "builtins.attrNames (import <nixpkgs> { })")
	cmd.Env = env
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing <nixpkgs>' attributes: %w", err)
	}
	var names []string
	return names, json.Unmarshal(out, &names)
}
