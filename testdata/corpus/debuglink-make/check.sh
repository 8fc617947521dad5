run "$out/bin/linked"
expect_line "share: $out/share/linked"
# the CRC32 in .gnu_debuglink must be that of the installed debug file
python3 - "$out/bin/linked" "$out/bin/.debug/linked.debug" <<'PY'
import subprocess, sys, tempfile, zlib, os
with tempfile.TemporaryDirectory() as d:
    sec = os.path.join(d, "link")
    subprocess.run(["objcopy", "--dump-section", ".gnu_debuglink=" + sec, sys.argv[1], os.path.join(d, "x")], check=True)
    data = open(sec, "rb").read()
name = data[:data.index(b"\0")]
crc = int.from_bytes(data[-4:], "little")
actual = zlib.crc32(open(sys.argv[2], "rb").read())
if name != b"linked.debug" or crc != actual:
    sys.exit(f"check failed: .gnu_debuglink {name!r} CRC {crc:08x}, debug file's CRC {actual:08x}")
PY
gdb -batch -ex 'info line main' "$out/bin/linked" 2>&1 | grep -q 'linked.c' || _fail "gdb does not find the debug file of $out/bin/linked"
