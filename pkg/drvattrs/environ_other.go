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

// ReadProcess reads what process pid was started with, from /proc.
func ReadProcess(pid int) (*Process, error) {
	proc := filepath.Join("/proc", fmt.Sprint(pid))
	p := &Process{}
	var err error
	if p.Cmdline, err = os.ReadFile(filepath.Join(proc, "cmdline")); err != nil {
		return nil, err
	}
	if p.Environ, err = os.ReadFile(filepath.Join(proc, "environ")); err != nil {
		return nil, err
	}
	if p.Exe, err = os.Readlink(filepath.Join(proc, "exe")); err != nil {
		return nil, err
	}
	return p, nil
}
