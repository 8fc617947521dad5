//go:build !linux

package storepath

import (
	"testing"
	"time"
)

// statChange is only implemented on Linux.
func statChange(t *testing.T, path string) time.Time { return time.Time{} }
