//go:build !darwin

package drvattrs

import (
	"fmt"
	"os"
	"path/filepath"
)

// environ reads a process's initial environment from /proc/PID/environ
// (Linux, or any system with a procfs).
func environ(pid int) ([]byte, error) {
	return os.ReadFile(filepath.Join("/proc", fmt.Sprint(pid), "environ"))
}
