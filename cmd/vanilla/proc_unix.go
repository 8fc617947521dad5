//go:build unix

package main

import (
	"os"
	"os/exec"
	"syscall"
)

// lockFile takes an exclusive lock on f, waiting for it when wait is set
// (through EINTR, as pkg/cache's flock does).
func lockFile(f *os.File, wait bool) error {
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	for {
		if err := syscall.Flock(int(f.Fd()), how); err != syscall.EINTR {
			return err
		}
	}
}

// detach starts cmd in a session of its own, out of the builder's
// process group.
func detach(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} }

// terminate asks process pid to stop.
func terminate(pid int) { _ = syscall.Kill(pid, syscall.SIGTERM) }

// alive reports whether process pid exists.
func alive(pid int) bool { return syscall.Kill(pid, 0) != syscall.ESRCH }
