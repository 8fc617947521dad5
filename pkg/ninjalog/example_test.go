package ninjalog_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/nix-vanilla/nix-vanilla/pkg/ninjalog"
)

func Example() {
	// A build directory's .ninja_log, as ninja 1.11 wrote it after running
	// a.o's command.
	old := "cc -DPREFIX=/nix/store/0c7gj7ksb4wqqk3vr8ddnqjwz3cv2dgl-hello -c a.c -o a.o"
	data := fmt.Sprintf("# ninja log v5\n0\t12\t1700000000000000000\ta.o\t%x\n", ninjalog.HashCommand(old))
	l, err := ninjalog.Parse([]byte(data))
	if err != nil {
		fmt.Println(err)
		return
	}

	// The output hash was rewritten in build.ninja: give the entry the hash
	// of the new command, so that ninja does not rebuild a.o.
	now := "cc -DPREFIX=/nix/store/1cy5sf6qk8xyhmr48a3rk2p99dm81kd4-hello -c a.c -o a.o"
	fmt.Println("changed:", l.SetHash("a.o", ninjalog.HashCommand(now)))
	fmt.Print(string(l.Bytes()))
	// Output:
	// changed: true
	// # ninja log v5
	// 0	12	1700000000000000000	a.o	b67b03ba5d98d437
}

func ExampleFixWithin() {
	// After rewriting store paths in the tree below /build, build.ninja
	// included (ninja must be on $PATH).
	top, err := os.OpenRoot("/build")
	if err != nil {
		log.Fatal(err)
	}
	defer top.Close()
	st, err := ninjalog.FixWithin(context.Background(), top, "source/build")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d entries rehashed, %d already right\n", st.Changed, st.Unchanged)
}
