#!/usr/bin/env bash
# Creates .venv and installs the workbench (idempotent: a second run only checks, it downloads nothing).
# PSF_TORCH_SPEC selects the torch pin ("" keeps a torch already in the venv, e.g. a CUDA build on a GPU box).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=".venv/.psf-installed"
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
.venv/bin/python -m pip install --quiet --upgrade pip
TORCH_SPEC="${PSF_TORCH_SPEC-torch==2.13.0}"
if [ -n "$TORCH_SPEC" ]; then
    .venv/bin/python -m pip install --quiet "$TORCH_SPEC"
    .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[dev]"
else
    .venv/bin/python -m pip install --quiet -e ".[dev]"
fi
echo "$want" > "$stamp"
