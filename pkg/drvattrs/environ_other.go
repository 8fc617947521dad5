//go:build !darwin

package drvattrs

// environ reads a process's initial environment (Linux, or any system
// with a procfs).
func environ(pid int) ([]byte, error) { return procEnviron(pid) }
