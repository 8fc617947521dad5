package main

import (
	"context"
	"fmt"
	"io"
)

// cacheCommand runs `vanilla cache SUBCOMMAND`: the user's commands (ls,
// stats, verify, gc, rm) and the hook's (cacheHookCommands).
func cacheCommand(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{fmt.Errorf("missing subcommand: ls, stats, verify, gc or rm")}
	}
	if cmd, ok := cacheHookCommands[args[0]]; ok {
		return cmd(ctx, args[1:], stdout)
	}
	return usageError{fmt.Errorf("unknown subcommand %q: expected ls, stats, verify, gc or rm", args[0])}
}
