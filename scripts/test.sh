#!/usr/bin/env bash
# Sets everything up (idempotent), then lints, type-checks and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/browser.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# Two worker processes (one file each at a time), one torch thread each, unless the caller chose:
# `bash scripts/test.sh -n 0` runs one process; OMP_NUM_THREADS=2 gives it two threads.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MKL_NUM_THREADS="${MKL_NUM_THREADS:-${OMP_NUM_THREADS:-1}}"
.venv/bin/python -m pytest -n "${PSF_TEST_WORKERS:-2}" --dist loadfile "$@"
