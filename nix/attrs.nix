# Reading back the attributes a package was made from.
{
  # The attributes a package was made from (its mkDerivation arguments,
  # after `finalAttrs` and every overrideAttrs).
  #
  # Example:
  #   (attrsOf (hello.overrideAttrs { postFixup = "x"; })).postFixup  # => "x"
  attrsOf =
    drv:
    (drv.overrideAttrs (
      _: prev: { passthru = (prev.passthru or { }) // { __vanillaAttrs = prev; }; }
    )).__vanillaAttrs;
}
