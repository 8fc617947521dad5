# The attribute classification shared with the Go side
# (pkg/classify/classification.json): which attributes and inputs only
# matter after buildPhase.
#
# Example:
#   (import ./classification.nix).final  # => [ "preFixupPhases" "fixupPhase" … ]
let
  table = builtins.fromJSON (builtins.readFile ../pkg/classify/classification.json);
in
{
  # Attributes first read from postBuild to installPhase.
  unwrapped = table.unwrapped.attributes;
  # Attributes first read from fixupPhase on, or only by Nix.
  final = table.final.attributes;
  # Setup hooks needed from installPhase on: [ { name; functions; } ].
  lateInputs = table.lateInputs.hooks;
  # Hooks whose install-time step reads the package's dependencies.
  installReaders = table.installReaders.hooks;
}
