# vanillaHook: the setup hook of a resumable build (hooks/vanilla-hook.sh),
# pointed at the helper.
#
# Example:
#   callPackage ./hook.nix { helper = vanilla-helper; }
{ makeSetupHook, helper }:
makeSetupHook {
  name = "vanilla-hook";
  substitutions.helper = "${helper}/bin/vanilla";
} ../hooks/vanilla-hook.sh
