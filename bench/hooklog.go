package main

import (
	"bytes"
	"regexp"
	"strings"
	"sync"
	"time"
)

// A timedLine is a line of a build's log and when it arrived, from the
// start of nix-build.
type timedLine struct {
	at   float64
	text string
}

// timedWriter keeps what a build writes to stderr, and each line with the
// time it arrived: Nix passes the builder's lines on as they come, so the
// times of "Running phase:" and "vanilla:" lines say how long phases and
// the cache's work took.
type timedWriter struct {
	start   time.Time
	mu      sync.Mutex
	text    strings.Builder
	partial []byte
	lines   []timedLine
}

func (w *timedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	at := time.Since(w.start).Seconds()
	w.text.Write(p)
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.lines = append(w.lines, timedLine{at, string(w.partial[:i])})
		w.partial = w.partial[i+1:]
	}
	return len(p), nil
}

// flush keeps a last line without a newline.
func (w *timedWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.lines = append(w.lines, timedLine{time.Since(w.start).Seconds(), string(w.partial)})
		w.partial = nil
	}
}

// phaseTimes are the seconds of each phase of one build, from its
// "Running phase:" line to the next (the last to the end of nix-build),
// with "(start)" for what comes before the first phase: evaluation, the
// instantiation, and in hook mode the cache lookup.
type phaseTimes map[string]float64

// startPhase names what comes before the first phase.
const startPhase = "(start)"

func phases(lines []timedLine, total float64) phaseTimes {
	p := phaseTimes{}
	name, from := startPhase, 0.0
	for _, l := range lines {
		if n, ok := strings.CutPrefix(l.text, "Running phase: "); ok {
			p[name] += l.at - from
			name, from = strings.TrimSpace(n), l.at
		}
	}
	p[name] += total - from
	return p
}

// A hookBuild is what the log of one hook-mode build said.
type hookBuild struct {
	scenario string
	// decision is "miss", "hit after buildPhase", "hit after
	// installPhase", or what the hook said instead.
	decision string
	// missWhy is the cache's reason for a miss.
	missWhy string
	// stored are the entries the build stored.
	stored []storedEntry
	// restoreSec is what the restore took, as it logs it.
	restoreSec float64
}

// A storedEntry is one "vanilla: cache: stored" line: the point ("after
// buildPhase"), its size ("1.2 MiB in 80 files, 300 KiB compressed") and
// the seconds from the line before it, which is the store and what the
// phase did after its last line.
type storedEntry struct {
	point, size string
	sec         float64
}

var (
	storedLine = regexp.MustCompile(`^vanilla: cache: stored .* (after \w+) as \w+ \((.*)\)$`)
	hitLine    = regexp.MustCompile(`^vanilla: cache hit \w+ \(.*(after \w+), stored`)
)

func readHookLog(lines []timedLine) hookBuild {
	var h hookBuild
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l.text, "vanilla: cache miss "):
			h.decision = "miss"
			if _, why, ok := strings.Cut(l.text, ": "); ok {
				if _, why, ok = strings.Cut(why, ": "); ok {
					h.missWhy = why
				}
			}
		case hitLine.MatchString(l.text):
			h.decision = "hit " + hitLine.FindStringSubmatch(l.text)[1]
		case strings.HasPrefix(l.text, "vanilla: restored "):
			h.restoreSec = logSeconds(l.text, "vanilla: restored")
		case storedLine.MatchString(l.text):
			m := storedLine.FindStringSubmatch(l.text)
			prev := 0.0
			if i > 0 {
				prev = lines[i-1].at
			}
			h.stored = append(h.stored, storedEntry{m[1], m[2], l.at - prev})
		case h.decision == "" && strings.HasPrefix(l.text, "vanilla: ") &&
			(strings.Contains(l.text, "building as usual") || strings.Contains(l.text, "not using the cache")):
			h.decision = strings.TrimPrefix(l.text, "vanilla: ")
		}
	}
	if h.decision == "" {
		h.decision = "no cache decision in the log"
	}
	return h
}
