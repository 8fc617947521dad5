# The case nix-vanilla grew from: a compiled core with a Python front end
# wrapped with its Python dependencies — what nixpkgs splits by hand into
# `foo-unwrapped` and a wrapper "so that one can very quickly iterate on
# Python wrapping without a multi-hour rebuild".
#
# The Python libraries are written with stdenv here (the test bed has no
# buildPythonPackage); the application is written as nixpkgs writes one:
# its runtime dependencies propagated, the front end wrapped in postFixup
# with them on PYTHONPATH, and the dependencies declared late.
#
# Example:
#   nix-build testdata/wrapper-deps --arg split true --argstr colorsVersion 2.0
{
  split ? false,
  colorsVersion ? "1.0",
  withTables ? false,
  # An early attribute: a new value builds everything anew (tests use it
  # so that the store holds nothing from an earlier run).
  stamp ? "",
  pkgs ? import ../../nix/host-pkgs.nix {
    overlays = if split then [ (import ../../nix/overlay.nix) ] else [ ];
  },
}:
let
  inherit (pkgs) lib stdenv python3;

  # A pure-Python library: `import NAME` gives NAME.VERSION and NAME.describe().
  pythonLibrary =
    name: version:
    stdenv.mkDerivation {
      pname = "python3.11-${name}";
      inherit version;
      dontUnpack = true;
      installPhase = ''
        mkdir -p $out/${python3.sitePackages}/${name}
        cat > $out/${python3.sitePackages}/${name}/__init__.py <<PY
        VERSION = "${version}"
        def describe(text):
            return "${name} ${version}: " + text
        PY
      '';
    };

  colors = pythonLibrary "colors" colorsVersion;
  tables = pythonLibrary "tables" "0.3";
  pythonDeps = [ colors ] ++ lib.optional withTables tables;

  app = stdenv.mkDerivation {
    pname = "greeter";
    version = "1.0";
    src = ./src;

    nativeBuildInputs = [ pkgs.makeWrapper ];
    buildInputs = [ python3 ];
    # Runtime dependencies of the front end, propagated as nixpkgs'
    # Python applications propagate theirs.
    propagatedBuildInputs = pythonDeps;
    # They matter only to the wrapper: a new version rebuilds the final
    # stage alone.
    vanillaLateInputs = pythonDeps;

    makeFlags = [ "PREFIX=${placeholder "out"}" ];
    env.GREETER_STAMP = stamp;

    postFixup = ''
      wrapProgram $out/bin/greeter \
        --prefix PYTHONPATH : ${lib.makeSearchPath python3.sitePackages pythonDeps}
    '';
  };
in
if split then app.overrideAttrs { vanillaPackage = true; } else app
