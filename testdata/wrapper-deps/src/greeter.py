#!/usr/bin/env python3
"""The front end: asks the compiled core, decorates with the libraries."""
import subprocess

import colors

out = subprocess.run(["@core@", "world"], capture_output=True, text=True, check=True).stdout.strip()
print(colors.describe(out))
try:
    import tables
    print(tables.describe("tables available"))
except ImportError:
    pass
