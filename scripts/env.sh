# shellcheck shell=bash
# Sourced by every script of the project: installs what the test bed needs
# when it is missing (Debian's nix-bin and host build tools), checks that
# <nixpkgs> resolves, and exports the Nix settings of nix/test-bed.conf as
# NIX_CONFIG so that nothing depends on a hand-edited nix.conf.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Debian packages the test bed builds with: Nix itself, and the host tools
# that nix/host-pkgs.nix hands to nixpkgs' stdenv.
_debianPackages=(
    nix-bin build-essential file patch xz-utils bzip2
    cmake meson ninja-build pkgconf python3 autoconf automake libtool patchelf texinfo flex bison
    zstd shellcheck gnuplot-nox rsync
    pngcheck unzip zip lz4 gdb scons
    clang lld
)

_ensureDebianPackages() {
    local missing=() p
    for p in "${_debianPackages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "env.sh: installing ${missing[*]}" >&2
    if [ "$(id -u)" != 0 ]; then
        echo "env.sh: need root to apt-get install ${missing[*]}" >&2
        return 1
    fi
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

_ensureNixpkgs() {
    if ! nix-instantiate --eval -E '<nixpkgs>' >/dev/null 2>&1; then
        cat >&2 <<'MSG'
env.sh: <nixpkgs> does not resolve.
  The test bed builds with a real nixpkgs (its lib and pkgs/stdenv). Provide a
  mid-2024 nixpkgs checkout either on NIX_PATH:
      export NIX_PATH=nixpkgs=/path/to/nixpkgs
  or as root's channel:
      mkdir -p /nix/var/nix/profiles/per-user/root/channels/nixpkgs
      tar -x -C /nix/var/nix/profiles/per-user/root/channels/nixpkgs -f nixpkgs.tar
MSG
        return 1
    fi
}

# The test bed builds the helper from Go modules in this cache, bound into
# the sandbox (nix/test-bed.conf): builds have no network.
_ensureGoModules() {
    (cd "$repo" && GOMODCACHE=/var/cache/nix-vanilla/gomod GOFLAGS=-mod=mod go mod download)
}

_ensureDebianPackages || return 1
_ensureNixpkgs || return 1
export PATH="$PATH:/usr/local/go/bin"
_ensureGoModules || return 1
NIX_CONFIG=$(cat "$repo/nix/test-bed.conf")
export NIX_CONFIG
