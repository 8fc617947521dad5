package stage

import (
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	sizes := map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 41_000_000: "41 MB", 1_500_000_000: "1.5 GB"}
	for n, want := range sizes {
		if got := size(n); got != want {
			t.Errorf("size(%d) = %q, want %q", n, got, want)
		}
	}
	durations := map[time.Duration]string{0: "0.00 s", 423 * time.Millisecond: "0.42 s", 9994 * time.Millisecond: "9.99 s", 12345 * time.Millisecond: "12.3 s"}
	for d, want := range durations {
		if got := seconds(d); got != want {
			t.Errorf("seconds(%v) = %q, want %q", d, got, want)
		}
	}
	counts := map[int]string{0: "0", 999: "999", 3120: "3,120", 1234567: "1,234,567"}
	for n, want := range counts {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}
