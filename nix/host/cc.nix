# A stand-in for nixpkgs' cc-wrapper: `cc`, `gcc`, `c++`, `g++` and `cpp`
# run the host's gcc with $NIX_CFLAGS_COMPILE (and, when linking,
# $NIX_CFLAGS_LINK), and the setup hook exports CC, CXX and the binutils
# variables the way the cc- and bintools-wrappers' hooks do.
{ system }:
derivation {
  name = "host-cc";
  inherit system;
  builder = "/bin/bash";
  args = [
    "-euc"
    ''
      PATH=/usr/bin
      mkdir -p "$out/bin" "$out/nix-support"
      wrap() {
        cat > "$out/bin/$1" <<WRAPPER
      #!/bin/bash
      link=1
      for a in "\$@"; do
        case "\$a" in -c | -S | -E | -M | -MM) link= ;; esac
      done
      # shellcheck disable=SC2086
      exec $2 \''${NIX_CFLAGS_COMPILE-} "\$@" \''${link:+\''${NIX_CFLAGS_LINK-}}
      WRAPPER
        chmod +x "$out/bin/$1"
      }
      wrap cc /usr/bin/gcc
      wrap gcc /usr/bin/gcc
      wrap c++ /usr/bin/g++
      wrap g++ /usr/bin/g++
      wrap cpp /usr/bin/cpp
      cat > "$out/nix-support/setup-hook" <<'HOOK'
      export CC=cc CXX=c++ CPP=cpp
      export AR=ar AS=as LD=ld NM=nm OBJCOPY=objcopy OBJDUMP=objdump
      export RANLIB=ranlib READELF=readelf SIZE=size STRINGS=strings STRIP=strip
      HOOK
    ''
  ];
}
// {
  isGNU = true;
  isClang = false;
  targetPrefix = "";
}
