run "$out/bin/pyc-tool"
expect_line "$out/share/pyc-tool"
# Independent of the comparator: every checked-hash .pyc must carry the
# source hash Python computes for the .py beside it.
python3 - "$out" <<'PY'
import importlib.util, pathlib, sys
bad = []
pycs = list(pathlib.Path(sys.argv[1]).rglob("*.pyc"))
assert pycs, "no .pyc installed"
for pyc in pycs:
    data = pyc.read_bytes()
    flags = int.from_bytes(data[4:8], "little")
    src = pyc.parent.parent / (pyc.name.split(".")[0] + ".py")
    if flags & 1 and data[8:16] != importlib.util.source_hash(src.read_bytes()):
        bad.append(str(pyc))
if bad:
    sys.exit("check failed: stale checked-hash .pyc: " + ", ".join(bad))
PY
