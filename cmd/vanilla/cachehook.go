package main

import (
	"context"
	"io"
)

// cacheHookCommands are the `vanilla cache` subcommands the setup hook
// runs in a build with vanillaHook (hook mode).
var cacheHookCommands = map[string]func(context.Context, []string, io.Writer) error{}
