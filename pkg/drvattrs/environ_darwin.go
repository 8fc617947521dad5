package drvattrs

import "golang.org/x/sys/unix"

// environ reads a process's initial environment with the kern.procargs2
// sysctl: darwin has no /proc. The kernel allows it for the caller's own
// processes (the helper is the builder's child, with its user).
func environ(pid int) ([]byte, error) {
	rec, err := unix.SysctlRaw("kern.procargs2", pid)
	if err != nil {
		return nil, err
	}
	return procArgsEnviron(rec)
}

// ReadProcess reads what process pid was started with, from the
// kern.procargs2 sysctl.
func ReadProcess(pid int) (*Process, error) {
	rec, err := unix.SysctlRaw("kern.procargs2", pid)
	if err != nil {
		return nil, err
	}
	return procArgs(rec)
}
