module github.com/nix-vanilla/nix-vanilla

go 1.26.8
