"""Count words."""
import collections
import re

__version__ = "1.2.0"


def count(text):
    return collections.Counter(re.findall(r"[a-z']+", text.lower()))


def top(text, n=3):
    return [w for w, _ in sorted(count(text).items(), key=lambda kv: (-kv[1], kv[0]))[:n]]
