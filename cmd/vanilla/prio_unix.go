//go:build unix && !linux

package main

import "syscall"

// lowerPriority gives the process the lowest CPU priority (nice 19).
func lowerPriority() { _ = syscall.Setpriority(syscall.PRIO_PROCESS, 0, 19) }
