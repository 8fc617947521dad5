package main

import (
	"os"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// lowerPriority gives every thread of the process the lowest CPU priority
// there is: the SCHED_IDLE policy, which runs a thread only on a core
// nothing else wants (the scheduler places a waking task of the build on
// such a core at once), or nice 19 where that is refused. On Linux a
// policy belongs to a thread, and a new thread takes its creator's.
// Twice, for a thread started meanwhile.
func lowerPriority() {
	for range 2 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			idle(0)
			return
		}
		for _, t := range tasks {
			if tid, err := strconv.Atoi(t.Name()); err == nil {
				idle(tid)
			}
		}
	}
}

// idle gives thread tid (0: the calling thread) the SCHED_IDLE policy,
// or nice 19.
func idle(tid int) {
	attr := unix.SchedAttr{Size: uint32(unsafe.Sizeof(unix.SchedAttr{})), Policy: unix.SCHED_IDLE}
	if unix.SchedSetAttr(tid, &attr, 0) != nil {
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, tid, 19)
	}
}
