#!/bin/sh
./oot-hello | grep -q "out-of-tree"
