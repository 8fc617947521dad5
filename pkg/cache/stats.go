package cache

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// Kinds of events.
const (
	Hit  = "hit"
	Miss = "miss"
	Save = "save"
)

// maxEvent bounds one line of stats.log. Each line is one write(2) to a
// file opened with O_APPEND: the kernel appends it whole at the end, and
// local filesystems do not split a write this small.
const maxEvent = 4095

// Event is one line of stats.log.
type Event struct {
	Time time.Time `json:"time"`
	Kind string    `json:"kind"` // Hit, Miss or Save
	Key  string    `json:"key,omitempty"`
	Name string    `json:"name,omitempty"`
	// Reason says why a miss missed (e.g. "no entry", "damaged",
	// "restore failed").
	Reason string `json:"reason,omitempty"`
	// Bytes are the bytes restored (Hit) or stored (Save).
	Bytes int64 `json:"bytes,omitempty"`
}

// Stats sums up stats.log.
type Stats struct {
	Hits, Misses, Saves int
	// MissReasons counts misses by Reason.
	MissReasons map[string]int
	// BytesRestored and BytesSaved sum the Bytes of hits and saves.
	BytesRestored, BytesSaved int64
	// Garbage counts lines that were not events.
	Garbage int
}

// Record appends ev to stats.log, in one write of one line, so that
// concurrent builds never interleave; a zero Time is now. Fields too long
// for a line of 4 KiB are shortened.
func (c *Cache) Record(ev Event) error {
	if ev.Time.IsZero() {
		ev.Time = now().UTC()
	}
	switch ev.Kind {
	case Hit, Miss, Save:
	default:
		return fmt.Errorf("cache record: unknown event kind %q", ev.Kind)
	}
	line, err := json.Marshal(ev)
	for err == nil && len(line) >= maxEvent {
		ev.Reason, ev.Name, ev.Key = shorten(ev.Reason), shorten(ev.Name), shorten(ev.Key)
		line, err = json.Marshal(ev)
	}
	if err != nil {
		return fmt.Errorf("cache record: %w", err)
	}
	f, err := os.OpenFile(c.path(StatsFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, fileMode)
	if err != nil {
		return fmt.Errorf("cache record: %w", err)
	}
	if fi, err := f.Stat(); err == nil && fi.Size() == 0 {
		f.Chmod(fileMode) // the first writer's umask must not lock others out
	}
	_, err = f.Write(append(line, '\n'))
	if err2 := f.Close(); err == nil {
		err = err2
	}
	if err != nil {
		return fmt.Errorf("cache record: %w", err)
	}
	return nil
}

func shorten(s string) string {
	if len(s) > 64 {
		return s[:61] + "..."
	}
	return s
}

// Stats reads stats.log, skipping lines that are not events.
func (c *Cache) Stats() (Stats, error) {
	s := Stats{MissReasons: map[string]int{}}
	f, err := os.Open(c.path(StatsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("cache stats: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, maxEvent+1)
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			s.Garbage++
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
			continue
		}
		if len(bytes.TrimSpace(line)) > 0 {
			s.add(line)
		}
		if err == io.EOF {
			return s, nil
		}
		if err != nil {
			return s, fmt.Errorf("cache stats: %w", err)
		}
	}
}

func (s *Stats) add(line []byte) {
	var ev Event
	if json.Unmarshal(line, &ev) != nil || ev.Bytes < 0 {
		s.Garbage++
		return
	}
	switch ev.Kind {
	case Hit:
		s.Hits++
		s.BytesRestored += ev.Bytes
	case Miss:
		s.Misses++
		s.MissReasons[ev.Reason]++
	case Save:
		s.Saves++
		s.BytesSaved += ev.Bytes
	default:
		s.Garbage++
	}
}
