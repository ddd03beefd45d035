#!/bin/sh
# compile-bytecode.sh DIR [VERSION]: write .pyc files for the Lambda runtime's
# Python (default 3.13) into DIR, so that no cold start compiles the modules it
# imports (Lambda's /var/task and /opt are read-only: nothing is cached there).
# Bytecode is specific to a Python minor version, so only an interpreter of
# exactly that version may write it; without one the build ships sources and
# says so (docs/build.md has the measured difference).
set -eu
dir=$1
version=${2:-3.13}
for candidate in "python$version" "$HOME/.pyenv/versions/$version"*/bin/python; do
    if command -v "$candidate" >/dev/null 2>&1 \
        && "$candidate" -c "import sys; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '$version' else 1)" 2>/dev/null
    then
        # unchecked-hash: the .pyc is used as is, whatever the files' times after unzipping.
        "$candidate" -m compileall -q -j 0 --invalidation-mode unchecked-hash "$dir"
        echo "bytecode for Python $version written under $dir"
        exit 0
    fi
done
echo "warning: no Python $version interpreter found: shipping $dir without bytecode (docs/build.md)" >&2
