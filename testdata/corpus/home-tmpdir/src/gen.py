"""Writes a greeting; keeps a run counter in ~/.cache, as many tools do."""
import os
import pathlib
import sys

cache = pathlib.Path(os.path.expanduser("~")) / ".cache" / "gen"
cache.mkdir(parents=True, exist_ok=True)
counter = cache / "runs"
runs = int(counter.read_text()) + 1 if counter.exists() else 1
counter.write_text(str(runs))
print(f"{sys.argv[1]}: run {runs}")
