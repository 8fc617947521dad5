// Package drvattrs reads the attributes a derivation handed to its build,
// exactly as Nix passed them, and compares those of two stages of one split
// build.
//
// Nix passes a derivation's attributes as the builder's environment, or,
// with structured attributes, as a JSON file ($NIX_ATTRS_JSON_FILE). The
// environment a process was started with stays readable in
// /proc/PID/environ whatever the shell exports later, so [Read] sees the
// attributes and not what setup hooks made of them. Attributes listed in
// passAsFile are read from the files Nix wrote for them.
//
// [Compare] reports the attributes that two stages do not share: an
// attribute the earlier stage was built with must reach the later stage
// unchanged (after mapping store paths), and an attribute only the later
// stage has must be one of its own. A difference means the later stage was
// not made from the same package, which is what lib.overrideDerivation does
// to a split package: it changes the final derivation alone.
//
// Caveats: the initial environment is read from /proc/PID/environ, which
// needs Linux (or a procfs), and on darwin from the kern.procargs2 sysctl
// (its parsing is tested on a record laid out as darwin's kernel lays it
// out; no darwin machine runs it here); elsewhere [Read] fails and says
// so. Values are compared as text: two structured
// attribute values are equal when their compact JSON is.
package drvattrs
