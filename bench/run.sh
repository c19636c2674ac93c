#!/usr/bin/env bash
# bench/run.sh [SIZE] [--runs N] [--only seed|import] [--keep]
# Times seed_demo and import_policies (and the re-send) on a private database rd_bench.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
exec "$ROOT/.venv/bin/python" bench/run.py "$@"
