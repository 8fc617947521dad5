package main

import (
	"os"
	"os/exec"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// TestLowerPriority runs lowerPriority in a process of its own (the test
// binary again), which then checks that each of its threads has the
// SCHED_IDLE policy.
func TestLowerPriority(t *testing.T) {
	if os.Getenv("VANILLA_PRIO_CHILD") != "" {
		lowerPriority()
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks {
			tid, _ := strconv.Atoi(task.Name())
			attr, err := unix.SchedGetAttr(tid, 0)
			if err != nil {
				t.Fatal(err)
			}
			if attr.Policy != unix.SCHED_IDLE {
				t.Errorf("thread %d has policy %d, want SCHED_IDLE (%d)", tid, attr.Policy, unix.SCHED_IDLE)
			}
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLowerPriority$")
	cmd.Env = append(os.Environ(), "VANILLA_PRIO_CHILD=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
}
