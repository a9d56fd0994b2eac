#!/usr/bin/env bash
# Runs every benchmark script in this folder with the project venv; pass-through arguments
# (e.g. --check) go to each. Exit status: the first failing benchmark's.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-$here/../.venv/bin/python}"
status=0
for bench in "$here"/bench_*.py; do
  echo "== $(basename "$bench")"
  "$python" "$bench" "$@" || { rc=$?; [ "$status" -ne 0 ] || status=$rc; }
done
exit "$status"
