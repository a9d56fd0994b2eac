#!/usr/bin/env bash
# Runs the benchmarks with the project venv and prints one table (plus JSON with --json).
#
#   bash benchmarks/run.sh [--json] [--check] [--toy] [--reps N] [--daemon-seconds S]
#   bash benchmarks/run.sh --each [ARGS]   # every bench_*.py on its own, as before
#
# The default is bench_national.py, which runs the parse benchmark (bench_pacer_rss.py) and the
# CourtListener day (sim_courtlistener_day.py) itself, so their figures land in the same table.
# Pass-through arguments go to each script. Exit status: the first failing benchmark's.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-$here/../.venv/bin/python}"
if [ "${1:-}" != "--each" ]; then
  exec "$python" "$here/bench_national.py" "$@"
fi
shift
status=0
for bench in "$here"/bench_*.py; do
  echo "== $(basename "$bench")"
  "$python" "$bench" "$@" || { rc=$?; [ "$status" -ne 0 ] || status=$rc; }
done
exit "$status"
