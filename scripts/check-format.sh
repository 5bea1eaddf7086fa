#!/usr/bin/env bash
# Fails when a C++ file differs from its clang-format output (.clang-format).
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.h' '*.cc' '*.cpp' 2>/dev/null || find engine cli tests bench fuzz examples -name '*.h' -o -name '*.cc' -o -name '*.cpp')
bad=0
for f in $files; do
  if ! clang-format --style=file "$f" | cmp -s - "$f"; then
    echo "needs clang-format: $f" >&2
    bad=1
  fi
done
[ "$bad" = 0 ] || { echo "run: clang-format -i <files>" >&2; exit 1; }
echo "format ok"
