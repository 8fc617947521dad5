# Open vSwitch 3.1.0 from Debian's openvswitch-source
# (/usr/src/openvswitch/openvswitch.tar.gz): a medium autotools build of C
# with libtool shared libraries, Python code generators and many programs.
# It stands in for libxcrypt, whose Debian source package lacks build-aux/
# (the m4 macros and the Perl scripts its configure and Makefile call).
{
  stdenv,
  python3,
  src ? /usr/src/openvswitch/openvswitch.tar.gz,
}:
stdenv.mkDerivation {
  pname = "openvswitch";
  version = "3.1.0";
  inherit src;
  nativeBuildInputs = [ python3 ];
  outputs = [ "out" "dev" "man" ];
  # Whatever libraries the host has installed, build the same thing.
  configureFlags = [
    "--enable-shared"
    "--disable-ssl"
    "--disable-libcapng"
    # Its manpage-check treats any groff warning as an error, and the
    # host's groff warns in the sandbox (no /etc/groff/man.local).
    "ovs_cv_groff=no"
  ];
  enableParallelBuilding = true;
}
