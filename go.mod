module github.com/nix-vanilla/nix-vanilla

go 1.26.0

require (
	github.com/google/renameio/v2 v2.0.2
	github.com/klauspost/compress v1.20.4
	golang.org/x/crypto v0.59.0
	golang.org/x/sync v0.25.0
	golang.org/x/sys v0.50.0
	mvdan.cc/sh/v3 v3.14.1
)

require (
	github.com/rogpeppe/go-internal v1.16.0
	golang.org/x/tools v0.38.0 // indirect
)
