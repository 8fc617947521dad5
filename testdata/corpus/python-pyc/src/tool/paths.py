PREFIX = "@out@"
DATA = PREFIX + "/share/pyc-tool"
